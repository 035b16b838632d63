import { randomUUID } from "node:crypto";
import { availableOf, expectLedgerConsistent, useDatabase } from "@flashstock/testing/database";
import {
  address,
  cartWith,
  checkoutUntilVerdict as checkout,
  createTestProduct,
  createUser,
} from "@flashstock/testing/fixtures";
import { describe, expect, it } from "vitest";

const t = useDatabase({ poolSize: 20 });

const available = (sku: string) => availableOf(t.db, sku);

// Every checkout below is retried on 503 with its key, as a storefront would: a pool of 20 under 200
// simultaneous buyers may wait longer than its connection timeout on a loaded machine, and the
// verdicts must depend on the stock, not on the machine's speed.
describe("checkout under concurrency (real Postgres, real pool)", () => {
  it("sells exactly the stock when 200 buyers race for 20 units", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 20 });
    const buyers = await Promise.all(Array.from({ length: 200 }, () => createUser(t.db)));
    const carts = await Promise.all(buyers.map((b) => cartWith(b, { [product.sku]: 1 })));

    // Act
    const results = await Promise.all(buyers.map((b, i) => checkout(b, carts[i] as string)));

    // Assess
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.filter((s) => s === 409)).toHaveLength(180);
    for (const r of results.filter((r) => r.status === 409)) {
      expect(r.body.error.code).toBe("INSUFFICIENT_STOCK");
      expect(r.body.error.details.lines).toEqual([
        { sku: product.sku, requested: 1, available: 0 },
      ]);
    }
    expect(await available(product.sku)).toBe(0);
    const { rows } = await t.db.query("SELECT count(*)::int AS n FROM orders");
    expect(rows[0]).toEqual({ n: 20 });
    await expectLedgerConsistent(t.db);
  });

  it("never deadlocks multi-line orders racing on the same SKUs in opposite order, and keeps them all-or-nothing", async () => {
    // Prepare: A and B have 30 units each; every cart wants one of each, added in opposite orders.
    const a = await createTestProduct(t.db, { sku: `A-${randomUUID()}`, available: 30 });
    const b = await createTestProduct(t.db, { sku: `Z-${randomUUID()}`, available: 30 });
    const buyers = await Promise.all(Array.from({ length: 60 }, () => createUser(t.db)));
    const carts = await Promise.all(
      buyers.map((buyer, i) =>
        cartWith(buyer, i % 2 ? { [a.sku]: 1, [b.sku]: 1 } : { [b.sku]: 1, [a.sku]: 1 }),
      ),
    );
    // One order that wants more of B than will be left: it must take nothing of A either.
    const greedy = await createUser(t.db);
    const greedyCart = await cartWith(greedy, { [a.sku]: 1, [b.sku]: 30 });

    // Act
    const results = await Promise.all([
      ...buyers.map((buyer, i) => checkout(buyer, carts[i] as string)),
      checkout(greedy, greedyCart),
    ]);

    // Assess: only 201 and INSUFFICIENT_STOCK; no 500, no deadlock reaches a client.
    for (const r of results) {
      expect([201, 409]).toContain(r.status);
      if (r.status === 409) expect(r.body.error.code).toBe("INSUFFICIENT_STOCK");
    }
    const placed = results.filter((r) => r.status === 201);
    const unitsOfA = placed.reduce(
      (n, r) => n + (r.body.lines.find((l: { sku: string }) => l.sku === a.sku)?.quantity ?? 0),
      0,
    );
    const unitsOfB = placed.reduce(
      (n, r) => n + (r.body.lines.find((l: { sku: string }) => l.sku === b.sku)?.quantity ?? 0),
      0,
    );
    expect(await available(a.sku)).toBe(30 - unitsOfA);
    expect(await available(b.sku)).toBe(30 - unitsOfB);
    expect(unitsOfB).toBeLessThanOrEqual(30);
    await expectLedgerConsistent(t.db);
  });

  it("creates one order for 20 simultaneous requests with one Idempotency-Key", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 5 });
    const buyer = await createUser(t.db);
    const cartId = await cartWith(buyer, { [product.sku]: 2 });
    const key = randomUUID();

    // Act
    const results = await Promise.all(
      Array.from({ length: 20 }, () => checkout(buyer, cartId, key)),
    );

    // Assess
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(results.filter((r) => r.headers["idempotent-replayed"] === "true")).toHaveLength(19);
    const orders = await t.db.query("SELECT id FROM orders WHERE customer_id = $1", [buyer.id]);
    expect(orders.rows).toHaveLength(1);
    expect(await available(product.sku)).toBe(3);
  });

  it("lets only one of two keys check out the same cart; the other gets CART_CLOSED", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 5 });
    const buyer = await createUser(t.db);
    const cartId = await cartWith(buyer, { [product.sku]: 1 });

    // Act
    const results = await Promise.all([
      checkout(buyer, cartId, randomUUID(), address),
      checkout(buyer, cartId, randomUUID(), address),
    ]);

    // Assess
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.status === 409)?.body.error.code).toBe("CART_CLOSED");
    expect(await available(product.sku)).toBe(4);
  });
});
