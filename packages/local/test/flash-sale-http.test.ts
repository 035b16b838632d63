import { checkLedger, useDatabase } from "@flashstock/testing/database";
import { address, createTestProduct, createUser } from "@flashstock/testing/fixtures";
import { apiClient } from "@flashstock/testing/http";
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

/** The typed client (packages/client), signed in as the buyer, over real sockets. */
const as = (token: string) => apiClient(server.url, () => token);

/**
 * POST /checkout, sent again with the same Idempotency-Key after a 503 SERVICE_UNAVAILABLE, as the
 * README tells clients. The handlers' pool gives up waiting for a connection after 10 s, and on a
 * loaded machine 150 checkouts queued on 20 connections, serialised on one stock row, can wait
 * longer than that: the verdicts must not depend on the machine's speed, only on the stock.
 */
async function checkout(token: string, cartId: string, key: string) {
  const send = () =>
    as(token).POST("/checkout", {
      params: { header: { "idempotency-key": key } },
      body: { cartId, shippingAddress: address, payment: { method: "cash_on_delivery" } },
    });
  let reply = await send();
  for (let retries = 0; reply.response.status === 503 && retries < 20; retries++) {
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
        const cart = await as(b.token).POST("/carts");
        const id = cart.data?.id as string;
        const set = await as(b.token).PUT("/carts/{id}/items/{sku}", {
          params: { path: { id, sku: product.sku } },
          body: { quantity: 1 },
        });
        expect(set.response.status).toBe(200);
        return id;
      }),
    );

    // Act
    const results = await Promise.all(
      buyers.map((b, i) => checkout(b.token, carts[i] as string, `flash-${i}`)),
    );

    // Assess
    const sold = results.filter((r) => r.response.status === 201);
    const refused = results.filter((r) => r.response.status === 409);
    expect(sold).toHaveLength(25);
    expect(refused).toHaveLength(125);
    expect(new Set(refused.map((r) => r.error?.error.code))).toEqual(
      new Set(["INSUFFICIENT_STOCK"]),
    );
    const stock = await as(buyers[0]?.token as string).GET("/products/{sku}", {
      params: { path: { sku: product.sku } },
    });
    expect(stock.data?.available).toBe(0);
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
