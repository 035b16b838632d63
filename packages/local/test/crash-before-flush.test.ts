import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createCart, setItem } from "@flashstock/core/cart/index";
import { type FlushMode, placeOrder } from "@flashstock/core/checkout/index";
import type { Queryable } from "@flashstock/core/db/index";
import { DomainError } from "@flashstock/core/error";
import { availableOf, countRows } from "@flashstock/testing/database";
import { address, createTestProduct, createUser } from "@flashstock/testing/fixtures";
import { useOwnPostgres } from "@flashstock/testing/own-postgres";
import pg from "pg";
import { describe, expect, it } from "vitest";

// A checkout commits its order without waiting for the WAL flush, then flushes: in a second
// transaction of the same call (place_order_durably), or in a flush shared with the process's
// other checkouts (durable_orders). These tests make that gap wide and certain: the WAL writer
// is paused and the background writer may write no pages, so a commit reaches disk only when a
// backend flushes it. Autovacuum is off: its workers start on a timer, and one committing inside
// the gap would flush the order with it, the more likely the slower the machine.
const postgres = useOwnPostgres({
  postgresFlags: ["-c", "bgwriter_lru_maxpages=0", "-c", "autovacuum=off"],
});

const flushDefinition = new URL("../../core/src/db/flush_committed_wal.sql", import.meta.url);
const FLUSH_GATE = 4242;

/**
 * Holds every checkout's flush until the returned client lets go or dies: flush_committed_wal(),
 * redefined from its own file, first waits for an advisory lock this client holds. Putting the
 * original back is the caller's.
 */
async function holdFlushes(url: string): Promise<pg.Client> {
  const gate = new pg.Client({ connectionString: url });
  // The power cut ends this connection; that is expected, not an unhandled error.
  gate.on("error", () => {});
  await gate.connect();
  await gate.query("SELECT pg_advisory_lock($1)", [FLUSH_GATE]);
  const definition = await readFile(flushDefinition, "utf8");
  const gated = definition.replace(
    "AS $$",
    () => `AS $$\n  SELECT pg_advisory_xact_lock_shared(${FLUSH_GATE});`,
  );
  expect(gated).not.toBe(definition);
  await gate.query(gated);
  return gate;
}

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function cartOf(units: number) {
  const db = postgres.db;
  const buyer = await createUser(db);
  const product = await createTestProduct(db, { available: 5 });
  const cart = await createCart(db, buyer.principal);
  await setItem(db, cart.id, product.sku, { quantity: units }, buyer.principal);
  return { buyer, sku: product.sku, cartId: cart.id };
}
type TestCart = Awaited<ReturnType<typeof cartOf>>;

const checkout = (db: Queryable, { buyer, cartId }: TestCart, key: string, flush?: FlushMode) =>
  placeOrder(
    db,
    buyer.principal,
    key,
    { cartId, shippingAddress: address, payment: { method: "cash_on_delivery" } },
    { duplicateWindowMinutes: 30, cardPayments: false, flush },
  );

/** What the client heard: its order, or the error's kind and code. */
const heard = (attempt: ReturnType<typeof placeOrder>) =>
  attempt.then(
    ({ order }) => `confirmed ${order.id}`,
    (e: unknown) => (e instanceof DomainError ? `${e.kind} ${e.code}` : String(e)),
  );

/** A checkout whose server crashes after its commit and before its flush, each way of flushing. */
const crashBetweenCommitAndFlush: Record<
  FlushMode,
  (cart: TestCart, key: string) => Promise<string>
> = {
  // The flush in the same call waits on a lock; the crash comes once the order is committed
  // (visible) and its flush is waiting.
  "in-call": async (cart, key) => {
    const gate = await holdFlushes(postgres.url);
    await postgres.pauseWalWriter();
    const answer = heard(checkout(postgres.db, cart, key, "in-call"));
    await until(async () => {
      const { rows } = await gate.query<{ committed: number; waiting: number }>(
        `SELECT (SELECT count(*) FROM orders WHERE cart_id = $1)::int AS committed,
                (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)::int AS waiting`,
        [cart.cartId],
      );
      return rows[0]?.committed === 1 && rows[0]?.waiting === 1;
    });
    await postgres.powerCut();
    await postgres.start();
    await postgres.db.query(await readFile(flushDefinition, "utf8"));
    return answer;
  },
  // The checkout's connection sees the server crash and come back just before the shared flush,
  // as a pool that reconnects would.
  shared: async (cart, key) => {
    const crashingBeforeFlush: Queryable = {
      async query(text, values) {
        if (!text.includes("place_order")) {
          await postgres.powerCut();
          await postgres.start();
        }
        return postgres.db.query(text, values);
      },
    };
    await postgres.pauseWalWriter();
    return heard(checkout(crashingBeforeFlush, cart, key, "shared"));
  },
};

describe("an order is confirmed only once it is on disk", () => {
  it.each(["in-call", "shared"] as const)(
    "answers 503 SERVICE_UNAVAILABLE, not the order, when Postgres crashes between the checkout's commit and its flush (%s), and the retry with the same key places it",
    async (flush) => {
      // Prepare
      const { db } = postgres;
      const cart = await cartOf(2);
      const key = randomUUID();

      // Act
      const answer = await crashBetweenCommitAndFlush[flush](cart, key);
      const leftByCrash = {
        orders: await countRows(db, "orders WHERE cart_id = $1", [cart.cartId]),
        available: await availableOf(db, cart.sku),
      };
      const retry = await checkout(db, cart, key);

      // Assess: the crash took the commit (or this proved nothing), and the client was told so.
      expect(leftByCrash).toEqual({ orders: 0, available: 5 });
      expect(answer).toBe("unavailable SERVICE_UNAVAILABLE");
      expect(retry.replayed).toBe(false);
      expect(retry.order.status).toBe("placed");
      expect(await countRows(db, "orders WHERE cart_id = $1", [cart.cartId])).toBe(1);
      expect(await availableOf(db, cart.sku)).toBe(3);
    },
  );

  it.each(["in-call", "shared"] as const)(
    "keeps an order it confirmed (flush %s) through a crash right after the confirmation",
    async (flush) => {
      // Prepare
      const { db } = postgres;
      const cart = await cartOf(1);
      await postgres.pauseWalWriter();

      // Act
      const { order } = await checkout(db, cart, randomUUID(), flush);
      await postgres.powerCut();
      await postgres.start();

      // Assess
      expect(await countRows(db, "orders WHERE id = $1", [order.id])).toBe(1);
      expect(await availableOf(db, cart.sku)).toBe(4);
    },
  );
});
