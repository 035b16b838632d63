import { randomUUID } from "node:crypto";
import { createCart, setItem } from "@flashstock/core/cart/index";
import { placeOrder } from "@flashstock/core/checkout/index";
import type { Queryable } from "@flashstock/core/db/index";
import { DomainError } from "@flashstock/core/error";
import { availableOf, countRows } from "@flashstock/testing/database";
import { address, createTestProduct, createUser } from "@flashstock/testing/fixtures";
import { useOwnPostgres } from "@flashstock/testing/own-postgres";
import { describe, expect, it } from "vitest";

// place_order commits without waiting for the WAL flush and placeOrder waits for it afterwards.
// These tests make that gap wide and certain: the WAL writer is paused and the background writer
// may write no pages, so a commit reaches disk only when a backend flushes it. Autovacuum is off:
// its workers start on a timer, and one committing inside the gap would flush the order with it,
// the more likely the slower the machine.
const postgres = useOwnPostgres({
  postgresFlags: ["-c", "bgwriter_lru_maxpages=0", "-c", "autovacuum=off"],
});

async function cartOf(units: number) {
  const db = postgres.db;
  const buyer = await createUser(db);
  const product = await createTestProduct(db, { available: 5 });
  const cart = await createCart(db, buyer.principal);
  await setItem(db, cart.id, product.sku, { quantity: units }, buyer.principal);
  return { buyer, sku: product.sku, cartId: cart.id };
}

describe("an order is confirmed only once it is on disk", () => {
  it("answers 503 SERVICE_UNAVAILABLE, not the order, when Postgres crashes between the checkout's commit and its flush, and the retry with the same key places it", async () => {
    // Prepare: the checkout's connection sees the server crash and come back just before the
    // flush, as a pool that reconnects would.
    const { db } = postgres;
    const { buyer, sku, cartId } = await cartOf(2);
    const key = randomUUID();
    const crashingBeforeFlush: Queryable = {
      async query(text, values) {
        if (!text.includes("place_order")) {
          await postgres.powerCut();
          await postgres.start();
        }
        return db.query(text, values);
      },
    };
    await postgres.pauseWalWriter();

    // Act
    const outcome = await placeOrder(
      crashingBeforeFlush,
      buyer.principal,
      key,
      { cartId, shippingAddress: address, payment: { method: "cash_on_delivery" } },
      { duplicateWindowMinutes: 30, cardPayments: false },
    ).then(
      ({ order }) => `confirmed ${order.id}`,
      (e: unknown) => (e instanceof DomainError ? `${e.kind} ${e.code}` : String(e)),
    );
    const ordersAfterCrash = await countRows(db, "orders WHERE cart_id = $1", [cartId]);
    const availableAfterCrash = await availableOf(db, sku);
    const retry = await placeOrder(
      db,
      buyer.principal,
      key,
      { cartId, shippingAddress: address, payment: { method: "cash_on_delivery" } },
      { duplicateWindowMinutes: 30, cardPayments: false },
    );

    // Assess: the crash took the commit (or this proved nothing), and the client was told so.
    expect(ordersAfterCrash).toBe(0);
    expect(availableAfterCrash).toBe(5);
    expect(outcome).toBe("unavailable SERVICE_UNAVAILABLE");
    expect(retry.replayed).toBe(false);
    expect(retry.order.status).toBe("placed");
    expect(await countRows(db, "orders WHERE cart_id = $1", [cartId])).toBe(1);
    expect(await availableOf(db, sku)).toBe(3);
  });

  it("keeps an order it confirmed through a crash right after the confirmation", async () => {
    // Prepare
    const { db } = postgres;
    const { buyer, sku, cartId } = await cartOf(1);
    await postgres.pauseWalWriter();

    // Act
    const { order } = await placeOrder(
      db,
      buyer.principal,
      randomUUID(),
      { cartId, shippingAddress: address, payment: { method: "cash_on_delivery" } },
      { duplicateWindowMinutes: 30, cardPayments: false },
    );
    await postgres.powerCut();
    await postgres.start();

    // Assess
    expect(await countRows(db, "orders WHERE id = $1", [order.id])).toBe(1);
    expect(await availableOf(db, sku)).toBe(4);
  });
});
