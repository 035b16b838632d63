import { randomBytes } from "node:crypto";
import { createDb, type Db } from "@flashstock/core/db/index";
import type { DomainEvent } from "@flashstock/core/events/index";
import { closeDb } from "@flashstock/functions/lib/resources";
import pg from "pg";
import { afterAll, beforeAll, expect, inject } from "vitest";

/** The JWT secret of test runs: handlers verify, and fixtures sign, with it. */
export const TEST_JWT_SECRET = "test-secret-that-is-at-least-32-characters-long";

export interface TestDatabase {
  /** A pool on this file's database, for preparing rows and checking invariants. */
  db: Db;
  url: string;
  name: string;
}

/** The URL of another database on the run's Postgres server. */
export const databaseUrl = (name: string) =>
  inject("postgresAdminUrl").replace(/\/postgres$/, `/${name}`);

/** Runs statements (CREATE/DROP DATABASE) on the server's maintenance database. */
export async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject("postgresAdminUrl") });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * Gives the calling test file its own migrated database on the run's Postgres server, and points
 * the handlers at it (through the same environment variables Lambda uses). Call at the top level of
 * a test file; the returned object is filled in before the first test runs.
 */
export function useDatabase(options: { poolSize?: number } = {}): TestDatabase {
  const handle = {} as TestDatabase;
  beforeAll(async () => {
    const name = `test_${randomBytes(6).toString("hex")}`;
    await admin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${inject("templateDatabase")}`));
    const url = databaseUrl(name);
    process.env.DATABASE_URL = url;
    process.env.DATABASE_DRIVER = "pg";
    process.env.DB_POOL_MAX = String(options.poolSize ?? 20);
    process.env.JWT_SECRET ??= TEST_JWT_SECRET;
    process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
    Object.assign(handle, { db: createDb({ url, max: 5 }), url, name });
  });
  afterAll(async () => {
    await closeDb();
    await handle.db?.end();
    if (handle.name) {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${handle.name} WITH (FORCE)`));
    }
  });
  return handle;
}

/**
 * Empty databases (nothing migrated) on the run's server, made on demand by a test file and dropped
 * after it: for tests of migrations themselves.
 */
export function useEmptyDatabases(prefix = "empty"): () => Promise<{ name: string; url: string }> {
  const made: string[] = [];
  afterAll(async () => {
    for (const name of made) {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    }
  });
  return async () => {
    const name = `${prefix}_${randomBytes(6).toString("hex")}`;
    await admin((c) => c.query(`CREATE DATABASE ${name}`));
    made.push(name);
    return { name, url: databaseUrl(name) };
  };
}

export interface LedgerCheck {
  sku: string;
  available: number;
  ledgerSum: number;
  soldInOrders: number;
  soldInLedger: number;
}

/**
 * The stock invariants, per SKU: available >= 0 (also a CHECK), the ledger sums to the stock
 * (initial + deltas = available), and units in orders that are not cancelled equal units the
 * ledger shows as sold and not given back.
 */
export async function checkLedger(db: Db): Promise<LedgerCheck[]> {
  const { rows } = await db.query<LedgerCheck>(`
    SELECT s.sku, s.available,
      coalesce((SELECT sum(delta) FROM stock_movements m WHERE m.sku = s.sku), 0)::int AS "ledgerSum",
      coalesce((SELECT sum(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id
                 WHERE l.sku = s.sku AND o.status <> 'cancelled'), 0)::int AS "soldInOrders",
      coalesce((SELECT -sum(delta) FROM stock_movements m
                 WHERE m.sku = s.sku AND m.reason IN ('sale', 'cancellation')), 0)::int AS "soldInLedger"
    FROM stock s ORDER BY s.sku`);
  return rows;
}

/** Movements whose SKU has no stock row: the ledger has no foreign key, so this is checked here. */
export async function orphanMovements(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM stock_movements m WHERE NOT EXISTS (SELECT 1 FROM stock s WHERE s.sku = m.sku)",
  );
  return rows[0]?.n ?? 0;
}

/** Order lines whose SKU has no product: that foreign key was dropped too (migration 0002). */
export async function orphanOrderLines(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM order_lines l WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.sku = l.sku)",
  );
  return rows[0]?.n ?? 0;
}

/**
 * Checks the stock invariants of every SKU (see checkLedger), and that no movement or order line
 * is orphaned.
 */
export async function expectLedgerConsistent(db: Db): Promise<void> {
  for (const row of await checkLedger(db)) {
    expect(row.available, row.sku).toBeGreaterThanOrEqual(0);
    expect(row.ledgerSum, row.sku).toBe(row.available);
    expect(row.soldInOrders, row.sku).toBe(row.soldInLedger);
  }
  expect(await orphanMovements(db)).toBe(0);
  expect(await orphanOrderLines(db)).toBe(0);
  await expectWalletsConsistent(db);
  await expectPurchaseLimitsHeld(db);
  await expectPromotionsConsistent(db);
}

/** No customer holds more units of a SKU than its maxPerCustomer, over orders not cancelled. */
export async function expectPurchaseLimitsHeld(db: Db): Promise<void> {
  const { rows } = await db.query<{ customer: string; sku: string; held: number; limit: number }>(
    `SELECT o.customer_id AS customer, l.sku, sum(l.quantity)::int AS held,
            p.max_per_customer AS "limit"
       FROM orders o JOIN order_lines l ON l.order_id = o.id JOIN products p ON p.sku = l.sku
      WHERE o.status <> 'cancelled' AND p.max_per_customer IS NOT NULL
      GROUP BY o.customer_id, l.sku, p.max_per_customer
     HAVING sum(l.quantity) > p.max_per_customer`,
  );
  expect(rows).toEqual([]);
}

/**
 * The coupon invariants: every promotion's `used` is the number of orders not cancelled that carry
 * it, and never above its usageLimit; no customer's orders carry a code more often than its
 * perCustomerLimit; every order's discount is the rule's discount of its subtotal.
 */
export async function expectPromotionsConsistent(db: Db): Promise<void> {
  const { rows: uses } = await db.query<{ code: string; used: number; orders: number }>(
    `SELECT p.code, p.used,
            (SELECT count(*)::int FROM orders o
              WHERE o.promotion_code = p.code AND o.status <> 'cancelled') AS orders
       FROM promotions p
      WHERE p.used > coalesce(p.usage_limit, p.used)
         OR p.used <> (SELECT count(*) FROM orders o
                        WHERE o.promotion_code = p.code AND o.status <> 'cancelled')`,
  );
  expect(uses).toEqual([]);
  const { rows: perCustomer } = await db.query(
    `SELECT o.customer_id, o.promotion_code, count(*)::int AS uses, p.per_customer_limit
       FROM orders o JOIN promotions p ON p.code = o.promotion_code
      WHERE o.status <> 'cancelled' AND p.per_customer_limit IS NOT NULL
      GROUP BY o.customer_id, o.promotion_code, p.per_customer_limit
     HAVING count(*) > p.per_customer_limit`,
  );
  expect(perCustomer).toEqual([]);
  const { rows: discounts } = await db.query(
    `SELECT o.id, o.subtotal_cents, o.discount_cents, o.total_cents
       FROM orders o LEFT JOIN promotions p ON p.code = o.promotion_code
      WHERE o.total_cents <> o.subtotal_cents - o.discount_cents
         OR o.discount_cents <> CASE WHEN p.code IS NULL THEN 0
                                  ELSE promotion_discount(p.kind, p.value, o.subtotal_cents) END`,
  );
  expect(discounts).toEqual([]);
}

/**
 * The store-credit invariants: every wallet's transactions sum to its balance, which is never
 * below 0; every order paid with store credit was debited exactly its total, once; an order's
 * refund is its total, at most once, and only for an order whose payment says refunded.
 */
export async function expectWalletsConsistent(db: Db): Promise<void> {
  const { rows: wallets } = await db.query<{ customer: string; balance: number; sum: number }>(
    `SELECT w.customer_id AS customer, w.balance_cents AS balance,
            coalesce((SELECT sum(t.amount_cents) FROM wallet_transactions t
                       WHERE t.customer_id = w.customer_id), 0)::bigint AS sum
       FROM wallets w`,
  );
  for (const w of wallets) {
    expect(w.balance, w.customer).toBeGreaterThanOrEqual(0);
    expect(w.sum, `wallet of ${w.customer}: sum of transactions`).toBe(w.balance);
  }
  const { rows: orders } = await db.query<{
    id: string;
    method: string;
    status: string;
    total: number;
    refunded: number;
    paid: number;
    refunds: number;
  }>(
    `SELECT o.id, o.payment_method AS method, o.payment_status AS status, o.total_cents AS total,
            o.refunded_cents AS refunded,
            coalesce((SELECT -sum(t.amount_cents) FROM wallet_transactions t
                       WHERE t.order_id = o.id AND t.reason = 'order_payment'), 0)::bigint AS paid,
            coalesce((SELECT sum(t.amount_cents) FROM wallet_transactions t
                       WHERE t.order_id = o.id AND t.reason = 'refund'), 0)::bigint AS refunds
       FROM orders o`,
  );
  for (const o of orders) {
    const storeCredit = o.method === "store_credit";
    expect(o.paid, `order ${o.id} paid from a wallet`).toBe(storeCredit ? o.total : 0);
    const refunded = storeCredit && o.status === "refunded";
    expect(o.refunds, `order ${o.id} refunded to a wallet`).toBe(refunded ? o.total : 0);
    if (refunded) expect(o.refunded, `order ${o.id} refundedCents`).toBe(o.total);
  }
  // No order keeps money it will not ship for; a card refund is asked of Stripe only for money
  // that is owed back; nothing refunds more than its total.
  const { rows: wrong } = await db.query<{ id: string; problem: string }>(
    `SELECT id, 'cancelled but paid' AS problem FROM orders
      WHERE status = 'cancelled' AND payment_status = 'paid'
     UNION ALL
     SELECT id, 'refund requested but nothing owed' FROM orders
      WHERE refund_requested_at IS NOT NULL AND payment_status NOT IN ('refund_pending', 'refunded')
     UNION ALL
     SELECT id, 'refunded more than its total' FROM orders WHERE refunded_cents > total_cents
     UNION ALL
     SELECT id, 'paid by card while awaiting payment' FROM orders
      WHERE status = 'awaiting_payment' AND payment_status <> 'pending'`,
  );
  expect(wrong).toEqual([]);
}

export async function availableOf(db: Db, sku: string): Promise<number | undefined> {
  const { rows } = await db.query<{ available: number }>(
    "SELECT available FROM stock WHERE sku = $1",
    [sku],
  );
  return rows[0]?.available;
}

/** `count(*)` of a FROM clause, e.g. countRows(db, "orders WHERE customer_id = $1", [id]). */
export async function countRows(db: Db, from: string, values: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${from}`, values);
  return rows[0]?.n ?? 0;
}

/**
 * The outbox events (as published: {id, type, occurredAt, data}) whose data field `key` equals
 * `value`, of one type or (null) of any, oldest first.
 */
export async function outboxEvents(
  db: Db,
  type: string | null,
  key: "orderId" | "sku",
  value: string,
): Promise<DomainEvent[]> {
  const { rows } = await db.query<{ event: DomainEvent }>(
    `SELECT outbox_event(o) AS event FROM outbox o
      WHERE ($1::text IS NULL OR o.type = $1) AND o.data->>$2 = $3 ORDER BY o.seq`,
    [type, key, value],
  );
  return rows.map((r) => r.event);
}

/** The data of the outbox events of one type whose data field `key` equals `value`, oldest first. */
export async function outboxData(
  db: Db,
  type: string,
  key: "orderId" | "sku",
  value: string,
): Promise<Record<string, unknown>[]> {
  return (await outboxEvents(db, type, key, value)).map((e) => e.data);
}

export async function orderStatus(db: Db, orderId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ status: string }>("SELECT status FROM orders WHERE id = $1", [
    orderId,
  ]);
  return rows[0]?.status;
}

/** Every table a request can write to. */
export const WRITABLE_TABLES = [
  "products",
  "stock",
  "stock_movements",
  "carts",
  "cart_items",
  "orders",
  "order_lines",
  "outbox",
  "users",
  "idempotency_keys",
  "wallets",
  "wallet_transactions",
  "payment_events",
  "promotions",
  "logins",
  "refresh_tokens",
  "password_reset_tokens",
  "reviews",
];

/**
 * Row counts, the stock and ledger sums, and a digest of every row of every writable table: a
 * refused request must leave all of it exactly as it was (the digest also catches an UPDATE in
 * place).
 */
export async function tablesSnapshot(db: Db): Promise<Record<string, unknown>> {
  const { rows } = await db.query(`SELECT
    ${WRITABLE_TABLES.map(
      (table) => `(SELECT count(*)::int FROM ${table}) AS "${table}.rows",
      (SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM ${table} x)
        AS "${table}.digest"`,
    ).join(",\n")},
    (SELECT coalesce(sum(available), 0)::bigint FROM stock) AS "stock.available",
    (SELECT coalesce(sum(min_quantity), 0)::bigint FROM stock) AS "stock.minQuantity",
    (SELECT coalesce(sum(delta), 0)::bigint FROM stock_movements) AS "stock_movements.delta"`);
  return rows[0] as Record<string, unknown>;
}
