/**
 * Every route of the topology, fuzzed: requests whose path segments, query, token, content type,
 * idempotency key and body are each either valid or hostile, through the in-process API (the
 * topology's router, an API Gateway v2 event, the real handler module, a real Postgres). Whatever
 * arrives, the answer is a success or a 4xx with a documented error code, never a 500, and a refused
 * request writes nothing.
 */
import { checkLedger, expectLedgerConsistent, useDatabase } from "@flashstock/testing/database";
import { hostileRequest } from "@flashstock/testing/hostile/arbitraries";
import { outcome, useContract } from "@flashstock/testing/hostile/contract";
import { hashesPasswords, routeKey, templateOf, useWorld } from "@flashstock/testing/hostile/world";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type HttpRoute, routes } from "../../../infra/topology.ts";

const t = useDatabase({ poolSize: 5 });
const w = useWorld(t);
const { sendChecked } = useContract(t);

// Fewer runs where a well-formed body costs a fifth of a second of scrypt.
const runsFor = (route: HttpRoute) => (hashesPasswords(route) ? 80 : 200);

const ROUTES = routes.map((route) => ({ route, key: routeKey(route) }));

describe("every route, fuzzed", () => {
  it.each(ROUTES)(
    "answers anything sent to $key with a success or a documented 4xx, and writes nothing when it refuses",
    async ({ route }) => {
      // Prepare
      const seen = new Set<string>();

      // Act: sendChecked holds every request to the contract.
      await fc.assert(
        fc.asyncProperty(hostileRequest(w, route), async (req) => {
          seen.add(outcome(await sendChecked(req)));
        }),
        { numRuns: runsFor(route) },
      );

      // Assess: a fuzzer stopped by the router, authentication or path parsing would prove
      // nothing about the handler; and for a route with a body it reached the body's validator.
      const outcomes = [...seen];
      expect(outcomes.filter((o) => !/^(401|403|404 NOT_FOUND$)/.test(o))).not.toEqual([]);
      if (templateOf(route).body) expect(outcomes).toContain("400 VALIDATION_FAILED body");
    },
  );

  it("leaves the stock ledger consistent after all of the above", async () => {
    // Act + Assess: the SKUs the requests acted on are there, and every ledger identity holds.
    expect((await checkLedger(t.db)).length).toBeGreaterThan(0);
    await expectLedgerConsistent(t.db);
  });
});
