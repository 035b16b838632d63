import { randomUUID } from "node:crypto";
import { placeOrder } from "@flashstock/core/checkout/index";
import { createDb, type Db } from "@flashstock/core/db/index";
import { DomainError } from "@flashstock/core/error";
import { closeDb } from "@flashstock/functions/lib/resources";
import { call } from "@flashstock/testing/api";
import {
  availableOf,
  countRows,
  expectLedgerConsistent,
  useDatabase,
} from "@flashstock/testing/database";
import {
  address,
  cartWith,
  checkout,
  createTestProduct,
  createUser,
} from "@flashstock/testing/fixtures";
import { type NeonProxy, startNeonProxy } from "@flashstock/testing/neon-proxy";
import { neonConfig } from "@neondatabase/serverless";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

/**
 * The driver the cloud uses, @neondatabase/serverless, speaks the Postgres protocol over a
 * WebSocket to Neon's proxy. Here a local WebSocket-to-TCP proxy stands in for Neon's, in front of
 * the test run's real Postgres, so the same driver code runs the same SQL as in production.
 */
const t = useDatabase();
let proxy: NeonProxy;
const opened: Db[] = [];

/** A pool of the Neon driver on this file's database, through the local proxy. */
function neonDb(max = 4): Db {
  const db = createDb({
    url: t.url,
    driver: "neon",
    max,
    neon: { wsProxy: proxy.wsProxy, secure: false },
  });
  opened.push(db);
  return db;
}

beforeAll(async () => {
  proxy = await startNeonProxy();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.end()));
});

afterAll(async () => {
  await proxy?.stop();
});

const NEON_DRIVER = /neondatabase\/serverless/;

describe("the Neon serverless driver against Postgres through a WebSocket proxy", () => {
  it("connects through the proxy, as the Neon driver", async () => {
    // Prepare
    const before = proxy.connections;
    const db = neonDb();

    // Act
    const { rows } = await db.query<{ app: string }>(
      "SELECT current_setting('application_name') AS app",
    );

    // Assess: the proxy carried the connection, and the server saw the Neon driver open it
    expect(proxy.connections).toBeGreaterThan(before);
    expect(decodeURIComponent(rows[0]?.app ?? "")).toMatch(NEON_DRIVER);
  });

  it("places an order in one call of place_order_durably, which returns once it is on disk", async () => {
    // Prepare
    const db = neonDb();
    const before = proxy.connections;
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 5, priceCents: 1250 });
    const cartId = await cartWith(buyer, { [product.sku]: 2 });

    // Act
    const { order, replayed } = await placeOrder(
      db,
      buyer.principal,
      randomUUID(),
      { cartId, shippingAddress: address, payment: { method: "cash_on_delivery" } },
      { duplicateWindowMinutes: 30, cardPayments: false },
    );

    // Assess
    expect(replayed).toBe(false);
    expect(order.status).toBe("placed");
    expect(order.totalCents).toBe(2500);
    expect(await availableOf(t.db, product.sku)).toBe(3);
    expect(await countRows(t.db, "orders WHERE id = $1", [order.id])).toBe(1);
    expect(proxy.connections).toBeGreaterThan(before);
    await expectLedgerConsistent(t.db);
  });

  it("sells exactly the stock when 40 buyers compete for 25 units", async () => {
    // Prepare
    const db = neonDb(10);
    const before = proxy.connections;
    const product = await createTestProduct(t.db, { available: 25 });
    const buyers = await Promise.all(Array.from({ length: 40 }, () => createUser(t.db)));
    const carts = await Promise.all(buyers.map((b) => cartWith(b, { [product.sku]: 1 })));

    // Act
    const results = await Promise.allSettled(
      buyers.map((buyer, i) =>
        placeOrder(
          db,
          buyer.principal,
          randomUUID(),
          {
            cartId: carts[i] as string,
            shippingAddress: address,
            payment: { method: "cash_on_delivery" },
          },
          { duplicateWindowMinutes: 30, cardPayments: false },
        ),
      ),
    );

    // Assess
    const sold = results.filter((r) => r.status === "fulfilled");
    const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    expect(sold).toHaveLength(25);
    expect(refused).toHaveLength(15);
    for (const err of refused) {
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).code).toBe("INSUFFICIENT_STOCK");
    }
    expect(await availableOf(t.db, product.sku)).toBe(0);
    expect(
      await countRows(t.db, "order_lines WHERE sku = $1 AND quantity = 1", [product.sku]),
    ).toBe(25);
    expect(proxy.connections).toBeGreaterThan(before);
    await expectLedgerConsistent(t.db);
  });

  it("reads bigint columns as numbers, as the pg driver does", async () => {
    // Prepare
    const db = neonDb();
    const before = proxy.connections;
    const product = await createTestProduct(t.db);
    // Beyond int4, so that a wrong parser could not pass by luck (the API caps prices lower).
    await t.db.query("UPDATE products SET price_cents = 123456789012 WHERE sku = $1", [
      product.sku,
    ]);
    const sql =
      "SELECT price_cents, 9007199254740991::int8 AS max_safe, count(*) OVER () AS n FROM products WHERE sku = $1";

    // Act
    const viaNeon = await db.query(sql, [product.sku]);
    const viaPg = await t.db.query(sql, [product.sku]);

    // Assess
    expect(viaNeon.rows).toEqual([
      { price_cents: 123_456_789_012, max_safe: Number.MAX_SAFE_INTEGER, n: 1 },
    ]);
    expect(viaNeon.rows).toEqual(viaPg.rows);
    expect(proxy.connections).toBeGreaterThan(before);
  });

  it("rolls a failing transaction back entirely and keeps the pool usable", async () => {
    // Prepare
    const db = neonDb(1);
    const before = proxy.connections;
    const product = await createTestProduct(t.db, { available: 4 });
    const marker = randomUUID();

    // Act: an outbox row and a ledger row, then a stock update the CHECK (available >= 0) refuses
    const attempt = db.transaction(async (tx) => {
      await tx.query(
        "INSERT INTO outbox (type, data) VALUES ('inventory.low', jsonb_build_object('sku', $1::text))",
        [marker],
      );
      await tx.query(
        "INSERT INTO stock_movements (sku, delta, reason, available_after) VALUES ($1, -10, 'correction', 0)",
        [product.sku],
      );
      await tx.query("UPDATE stock SET available = available - 10 WHERE sku = $1", [product.sku]);
    });

    // Assess
    await expect(attempt).rejects.toMatchObject({ cause: { code: "23514" } });
    expect(await countRows(t.db, "outbox WHERE data->>'sku' = $1", [marker])).toBe(0);
    expect(await countRows(t.db, "stock_movements WHERE sku = $1", [product.sku])).toBe(1);
    expect(await availableOf(t.db, product.sku)).toBe(4);
    const { rows } = await db.query<{ ok: number }>("SELECT 1 AS ok");
    expect(rows).toEqual([{ ok: 1 }]);
    expect(proxy.connections).toBeGreaterThan(before);
  });
});

describe("a handler with DATABASE_DRIVER=neon", () => {
  const saved = {
    wsProxy: neonConfig.wsProxy,
    useSecureWebSocket: neonConfig.useSecureWebSocket,
    pipelineConnect: neonConfig.pipelineConnect,
    pipelineTLS: neonConfig.pipelineTLS,
  };

  beforeAll(async () => {
    // The handlers build their pool from the environment (packages/functions/src/lib), where there
    // is no proxy setting: here the driver's own global settings point it at the local proxy.
    await closeDb();
    process.env.DATABASE_DRIVER = "neon";
    Object.assign(neonConfig, {
      wsProxy: proxy.wsProxy,
      useSecureWebSocket: false,
      pipelineConnect: false,
      pipelineTLS: false,
    });
  });

  afterAll(async () => {
    await closeDb();
    process.env.DATABASE_DRIVER = "pg";
    Object.assign(neonConfig, saved);
  });

  it("answers GET /health and places an order through POST /checkout", async () => {
    // Prepare
    const before = proxy.connections;
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 2 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });

    // Act
    const health = await call("GET", "/health");
    const placed = await checkout(buyer, cartId);
    const order = await call("GET", `/orders/${placed.body?.id}`, { token: buyer.token });

    // Assess
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: "ok" });
    expect(placed.status).toBe(201);
    expect(placed.body.status).toBe("placed");
    expect(order.status).toBe(200);
    expect(await availableOf(t.db, product.sku)).toBe(1);
    expect(proxy.connections).toBeGreaterThan(before);
    await expectLedgerConsistent(t.db);
  });
});
