import { checkLedger, useDatabase } from "@flashstock/testing/database";
import { address, createTestProduct, createUser } from "@flashstock/testing/fixtures";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routes } from "../../../infra/topology.ts";
import { type LocalServer, startHttpServer } from "../src/server.ts";

const t = useDatabase({ poolSize: 20 });
let server: LocalServer;

beforeAll(async () => {
  server = await startHttpServer(routes, { port: 0 });
});
afterAll(async () => {
  await server?.close();
});

async function http(method: string, path: string, token: string, body?: unknown, headers = {}) {
  const res = await fetch(server.url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
  return { status: res.status, body: (await res.json()) as any };
}

/**
 * POST /checkout, sent again with the same Idempotency-Key after a 503 SERVICE_UNAVAILABLE, as the
 * README tells clients. The handlers' pool gives up waiting for a connection after 10 s, and on a
 * loaded machine 150 checkouts queued on 20 connections, serialised on one stock row, can wait
 * longer than that: the verdicts must not depend on the machine's speed, only on the stock.
 */
async function checkout(token: string, cartId: string, key: string) {
  const headers = { "idempotency-key": key };
  const send = () =>
    http("POST", "/checkout", token, { cartId, shippingAddress: address }, headers);
  let reply = await send();
  for (let retries = 0; reply.status === 503 && retries < 20; retries++) {
    await new Promise((r) => setTimeout(r, 100));
    reply = await send();
  }
  return reply;
}

describe("a flash sale over HTTP on the local runtime", () => {
  it("sells exactly the units in stock to 150 concurrent buyers and never goes negative", async () => {
    // Prepare: 25 units, 150 buyers each with a cart of 1 unit, all over real sockets.
    const product = await createTestProduct(t.db, { available: 25, minQuantity: 5 });
    const buyers = await Promise.all(Array.from({ length: 150 }, () => createUser(t.db)));
    const carts = await Promise.all(
      buyers.map(async (b) => {
        const cart = await http("POST", "/carts", b.token);
        const set = await http("PUT", `/carts/${cart.body.id}/items/${product.sku}`, b.token, {
          quantity: 1,
        });
        expect(set.status).toBe(200);
        return cart.body.id as string;
      }),
    );

    // Act
    const results = await Promise.all(
      buyers.map((b, i) => checkout(b.token, carts[i] as string, `flash-${i}`)),
    );

    // Assess
    const sold = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 409);
    expect(sold).toHaveLength(25);
    expect(refused).toHaveLength(125);
    expect(new Set(refused.map((r) => r.body.error.code))).toEqual(new Set(["INSUFFICIENT_STOCK"]));
    const stock = await http("GET", `/products/${product.sku}`, buyers[0]?.token as string);
    expect(stock.body.available).toBe(0);
    const [row] = (await checkLedger(t.db)).filter((r) => r.sku === product.sku);
    expect(row).toEqual({
      sku: product.sku,
      available: 0,
      ledgerSum: 0,
      soldInOrders: 25,
      soldInLedger: 25,
    });
    const events = await t.db.query<{ type: string }>(
      "SELECT type FROM outbox WHERE data->>'sku' = $1 ORDER BY seq",
      [product.sku],
    );
    expect(events.rows.map((e) => e.type)).toEqual(["inventory.low", "inventory.out"]);
  });
});
