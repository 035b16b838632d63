import { randomUUID } from "node:crypto";
import { placeOrder } from "@flashstock/core/checkout/index";
import { createDb, type Db } from "@flashstock/core/db/index";
import { DomainError } from "@flashstock/core/error";
import pg from "pg";
import { closedLoop, type LoadResult, type Outcome } from "./load.ts";

/** More than any point can sell, so that throughput counts sales, not refusals. */
export const HOT_STOCK = 100_000_000;

/** A product and its stock row: the hot SKU of one point or one sale. */
export async function createHotSku(client: pg.Client, sku: string, available = HOT_STOCK) {
  await client.query(
    `WITH p AS (INSERT INTO products (sku, name, price_cents, currency) VALUES ($1, 'Hot item', 1000, 'EUR'))
     INSERT INTO stock (sku, available, min_quantity) VALUES ($1, $2, 0)`,
    [sku, available],
  );
}

/** The tables a sale writes, emptied before each point or sale so that every one starts alike. */
export async function emptyOrderTables(admin: pg.Client) {
  await admin.query(
    "TRUNCATE orders, order_lines, idempotency_keys, outbox, stock_movements, cart_items, carts, wallet_transactions, payment_events",
  );
}

/**
 * Statistics and a vacuum for what a sale reads (products, stock, its carts), then a
 * checkpoint. Not for the tables it writes: analyzed while empty, they would tell the planner they
 * hold nothing, and each connection's cached plans would then scan them whole as they grow during
 * the sale (measured at 3,000 orders on one connection: the duplicate check and the idempotency
 * key's update 0.2 ms each, a third of the checkout's Postgres CPU). As TRUNCATE leaves them, their
 * size is unknown to the planner, as in a freshly migrated shop, and it uses their indexes.
 */
export async function settleSaleInputs(admin: pg.Client) {
  // The customers are written once, before the first point, and analyzed then.
  await admin.query("VACUUM ANALYZE products, stock, promotions, carts, cart_items");
  await admin.query("CHECKPOINT");
}

/** `count` open carts, each of a different customer, each holding 1 unit of the SKU (and the code). */
export async function prepareCarts(
  admin: pg.Client,
  sku: string,
  count: number,
  coupon: string | null,
): Promise<PreparedCart[]> {
  const { rows } = await admin.query<{ cartId: string; customerId: string }>(
    `WITH c AS (
       INSERT INTO carts (customer_id, promotion_code)
       SELECT id, $3 FROM users WHERE role = 'customer' ORDER BY id LIMIT $2
       RETURNING id, customer_id),
     i AS (INSERT INTO cart_items (cart_id, sku, quantity, currency) SELECT id, $1, 1, 'EUR' FROM c)
     SELECT id AS "cartId", customer_id AS "customerId" FROM c`,
    [sku, count, coupon],
  );
  return rows;
}

/** One pre-made cart: a customer, a cart holding 1 unit of the hot SKU. */
export interface PreparedCart {
  cartId: string;
  customerId: string;
}

export interface Point {
  url: string;
  sku: string;
  carts: PreparedCart[];
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** Makes each point's orders distinct, so the duplicate check never holds one. */
  tag: string;
}

export interface Strategy {
  name: string;
  /** What it is, for the report. */
  description: string;
  run(point: Point): Promise<LoadResult>;
}

const address = (tag: string) => ({
  name: "Bench Buyer",
  line1: `${tag} Load Street`,
  city: "Berlin",
  postalCode: "10115",
  country: "DE",
});

async function withClients<T>(url: string, n: number, work: (clients: pg.Client[]) => Promise<T>) {
  const clients = Array.from({ length: n }, () => new pg.Client({ connectionString: url }));
  await Promise.all(clients.map((c) => c.connect()));
  try {
    return await work(clients);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

/**
 * The raw conditional decrement alone, in autocommit, on `connections` connections: the most one
 * hot row gives. With synchronous_commit on (Postgres's default) each commit holds the row lock
 * through its own WAL flush; with it off for the session, the lock goes with the commit record, as
 * in place_order (which waits for its flush only after unlocking).
 */
const rawDecrement = (name: string, description: string, synchronousCommit: boolean): Strategy => ({
  name,
  description,
  run: (p) =>
    withClients(p.url, p.connections, async (clients) => {
      if (!synchronousCommit) {
        await Promise.all(clients.map((c) => c.query("SET synchronous_commit = off")));
      }
      return closedLoop({
        workers: clients,
        seconds: p.seconds,
        warmupSeconds: p.warmupSeconds,
        op: async (client): Promise<Outcome> => {
          const r = await client.query(
            "UPDATE stock SET available = available - 1 WHERE sku = $1 AND available >= 1",
            [p.sku],
          );
          return r.rowCount === 1 ? "sold" : "refused";
        },
      });
    }),
});

const ceiling = rawDecrement(
  "ceiling",
  "raw decrement, synchronous commit: UPDATE stock SET available = available - 1 WHERE sku = $1 AND available >= 1 in autocommit, each commit flushing the WAL while it holds the row lock",
  true,
);

/** The one-row limit: the ratios against it say what share of one hot row's most a checkout gets. */
export const oneRowLimit = rawDecrement(
  "one-row-limit",
  "the one-row limit: the same decrement with synchronous_commit off for the session, so the row lock goes with the commit record (as in place_order, which waits for its WAL flush after unlocking)",
  false,
);

export type StockStep = "read-then-write" | "for-update" | "advisory-lock";

/**
 * A checkout as a team would write it in application code, round trip by round trip in one
 * transaction: the stock step first (reserve, then record the order), then the cart, the order, its
 * line, the ledger row and the outbox row, then COMMIT. The three strategies differ only in the
 * stock step.
 */
export function applicationCheckout(step: StockStep) {
  return async (client: pg.Client, p: Point, cart: PreparedCart): Promise<Outcome> => {
    await client.query("BEGIN");
    try {
      if (step === "advisory-lock") {
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [p.sku]);
      }
      const { rows } = await client.query<{ available: number }>(
        `SELECT available FROM stock WHERE sku = $1${step === "for-update" ? " FOR UPDATE" : ""}`,
        [p.sku],
      );
      const available = rows[0]?.available ?? 0;
      if (available < 1) {
        await client.query("ROLLBACK");
        return "refused";
      }
      // Read-then-write and the advisory lock write the value computed in code; the row lock of
      // FOR UPDATE makes the relative update equivalent.
      await client.query(
        step === "for-update"
          ? "UPDATE stock SET available = available - 1, updated_at = now() WHERE sku = $1"
          : "UPDATE stock SET available = $2, updated_at = now() WHERE sku = $1",
        step === "for-update" ? [p.sku] : [p.sku, available - 1],
      );
      await client.query(
        "UPDATE carts SET status = 'checked_out', updated_at = now() WHERE id = $1 AND status = 'open'",
        [cart.cartId],
      );
      const orderId = randomUUID();
      const shipping = JSON.stringify(address(p.tag));
      await client.query(
        `INSERT INTO orders (id, customer_id, cart_id, status, subtotal_cents, total_cents, currency,
                             shipping_address, fingerprint)
         VALUES ($1, $2, $3, 'placed', 1000, 1000, 'EUR', $4, $5)`,
        [orderId, cart.customerId, cart.cartId, shipping, `${cart.customerId}|${p.sku}`],
      );
      await client.query(
        `INSERT INTO order_lines (order_id, sku, name, quantity, unit_price_cents)
         VALUES ($1, $2, 'Hot item', 1, 1000)`,
        [orderId, p.sku],
      );
      await client.query(
        `INSERT INTO stock_movements (sku, delta, reason, order_id, available_after, actor_id)
         VALUES ($1, -1, 'sale', $2, $3, $4)`,
        [p.sku, orderId, available - 1, cart.customerId],
      );
      await client.query("INSERT INTO outbox (type, data) VALUES ('order.placed', $1)", [
        JSON.stringify({ orderId, customerId: cart.customerId, sku: p.sku, quantity: 1 }),
      ]);
      await client.query("COMMIT");
      return "sold";
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    }
  };
}

function application(name: string, description: string, step: StockStep): Strategy {
  const checkout = applicationCheckout(step);
  return {
    name,
    description,
    run: (p) =>
      withClients(p.url, p.connections, (clients) =>
        closedLoop({
          workers: clients,
          seconds: p.seconds,
          warmupSeconds: p.warmupSeconds,
          op: (client, i) => checkout(client, p, p.carts[i] as PreparedCart),
        }),
      ),
  };
}

/**
 * A limited coupon's flash sale: every cart carries the same code (usageLimit COUPON_USES, more
 * than a point can sell), so each checkout also takes one use with the code's conditional
 * increment, a second hot row beside the stock.
 */
export const COUPON_USES = 1_000_000;

/** One checkout through the core's own code path: placeOrder, one call of place_order. */
export async function flashstockOrder(db: Db, cart: PreparedCart, tag: string): Promise<Outcome> {
  try {
    await placeOrder(
      db,
      { userId: cart.customerId, role: "customer" },
      randomUUID(),
      {
        cartId: cart.cartId,
        shippingAddress: address(tag),
        payment: { method: "cash_on_delivery" },
      },
      { duplicateWindowMinutes: 30, cardPayments: false },
    );
    return "sold";
  } catch (err) {
    if (err instanceof DomainError && refusals.has(err.code)) return "refused";
    throw err;
  }
}

/** flashstock's checkout, its connections shared by every request of the process (a pool). */
const flashstockCheckout = (name: string, description: string): Strategy => ({
  name,
  description,
  run: async (p) => {
    const db: Db = createDb({ url: p.url, max: p.connections });
    try {
      return await closedLoop({
        workers: Array.from({ length: p.connections }, (_, i) => i),
        seconds: p.seconds,
        warmupSeconds: p.warmupSeconds,
        op: (_, i) => flashstockOrder(db, p.carts[i] as PreparedCart, p.tag),
      });
    } finally {
      await db.end();
    }
  },
});

const refusals = new Set(["INSUFFICIENT_STOCK", "PROMOTION_EXHAUSTED"]);

export const strategies: Strategy[] = [
  ceiling,
  oneRowLimit,
  application(
    "read-then-write",
    "read available, check it in code, write the new value: the flash-sale bug (lost updates sell stock that is gone)",
    "read-then-write",
  ),
  application(
    "select-for-update",
    "SELECT ... FOR UPDATE on the stock row first, then the order's writes, then COMMIT: the row stays locked for the whole transaction",
    "for-update",
  ),
  application(
    "advisory-lock",
    "an application-level lock (pg_advisory_xact_lock on the SKU) around read-check-write",
    "advisory-lock",
  ),
  flashstockCheckout(
    "flashstock",
    "this project's checkout through the core (placeOrder): one statement running place_order, idempotency key, cart, duplicate check, order, line, outbox, then the conditional decrement last",
  ),
  flashstockCheckout(
    "flashstock-coupon",
    "the same, every cart carrying one limited coupon code: checkout also redeems it (refusal checks, then the conditional increment used < usage_limit just before the stock decrement)",
  ),
];
