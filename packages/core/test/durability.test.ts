import { randomUUID } from "node:crypto";
import { placeOrder } from "@flashstock/core/checkout/index";
import { createDb, type Queryable } from "@flashstock/core/db/index";
import { availableOf, useDatabase } from "@flashstock/testing/database";
import { address, cartWith, createTestProduct, createUser } from "@flashstock/testing/fixtures";
import { describe, expect, it } from "vitest";

const t = useDatabase();

describe("checkout durability with early lock release", () => {
  it("flush_committed_wal returns only once the WAL written before it is flushed", async () => {
    // Prepare
    const db = createDb({ url: t.url, max: 1 });
    try {
      const { rows } = await db.query<{ lsn: string }>(
        "INSERT INTO outbox (type, data) VALUES ('order.placed', '{}') RETURNING pg_current_wal_insert_lsn()::text AS lsn",
      );
      await db.query("DELETE FROM outbox WHERE data = '{}'");

      // Act
      await db.query("SELECT flush_committed_wal()");

      // Assess
      const flushed = await db.query<{ behind: number }>(
        "SELECT pg_wal_lsn_diff($1::pg_lsn, pg_current_wal_flush_lsn())::float AS behind",
        [rows[0]?.lsn],
      );
      expect(flushed.rows[0]?.behind).toBeLessThanOrEqual(0);
    } finally {
      await db.end();
    }
  });

  it("lets a role without superuser flush (Neon's database owner is not a superuser)", async () => {
    // Prepare
    const role = `app_${randomUUID().slice(0, 8)}`;
    await t.db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'app-password'`);
    const url = new URL(t.url);
    url.username = role;
    url.password = "app-password";
    const db = createDb({ url: url.toString(), max: 1 });
    try {
      // Act
      const result = await db.query("SELECT flush_committed_wal()");

      // Assess
      expect(result.rowCount).toBe(1);
    } finally {
      await db.end();
      await t.db.query(`DROP ROLE ${role}`);
    }
  });

  it("commits the checkout asynchronously without leaving the connection asynchronous", async () => {
    // Prepare: one connection, so the check runs where the checkout ran
    const db = createDb({ url: t.url, max: 1 });
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 3 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    try {
      // The test server runs with synchronous_commit off; this connection is made synchronous.
      await db.query("SET synchronous_commit = on");

      // Act
      const { order } = await placeOrder(
        db,
        buyer.principal,
        randomUUID(),
        { cartId, shippingAddress: address, payment: { method: "cash_on_delivery" } },
        { duplicateWindowMinutes: 30, cardPayments: false },
      );
      const setting = await db.query<{ synchronous_commit: string }>("SHOW synchronous_commit");

      // Assess
      expect(order.status).toBe("placed");
      expect(setting.rows[0]?.synchronous_commit).toBe("on");
    } finally {
      await db.end();
    }
  });
  it("flushes in the checkout's own call when it is alone, and joins the shared flush beside other checkouts of its process", async () => {
    // Prepare: every statement sent is recorded.
    const db = createDb({ url: t.url, max: 4 });
    const sent: string[] = [];
    const recording: Queryable = {
      query: (text, values) => {
        sent.push(text);
        return db.query(text, values);
      },
    };
    const product = await createTestProduct(t.db, { available: 10 });
    const buyers = await Promise.all(Array.from({ length: 5 }, () => createUser(t.db)));
    const carts = await Promise.all(buyers.map((b) => cartWith(b, { [product.sku]: 1 })));
    const checkout = (i: number) =>
      placeOrder(
        recording,
        (buyers[i] as (typeof buyers)[number]).principal,
        randomUUID(),
        {
          cartId: carts[i] as string,
          shippingAddress: address,
          payment: { method: "cash_on_delivery" },
        },
        { duplicateWindowMinutes: 30, cardPayments: false },
      );
    try {
      // Act
      await checkout(0);
      const alone = [...sent];
      sent.length = 0;
      await Promise.all([1, 2, 3, 4].map(checkout));
      const together = [...sent];

      // Assess
      expect(alone).toEqual([expect.stringMatching(/^CALL place_order_durably\(/)]);
      expect(together.filter((q) => q.startsWith("CALL place_order_durably("))).toHaveLength(1);
      expect(together.filter((q) => q.startsWith("SELECT place_order("))).toHaveLength(3);
      expect(together.filter((q) => q.includes("durable_orders(")).length).toBeGreaterThanOrEqual(
        1,
      );
      expect(await availableOf(t.db, product.sku)).toBe(5);
    } finally {
      await db.end();
    }
  });
});
