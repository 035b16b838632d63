/**
 * Store credit: a customer reads their own wallet; ops and admins read anyone's and change it, a
 * change the balance does not cover being refused; and under any interleaving the balance never
 * goes below zero.
 */
import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import { expectLedgerConsistent, tablesSnapshot, useDatabase } from "@flashstock/testing/database";
import {
  address,
  cartWith,
  checkoutUntilVerdict,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { afterEach, describe, expect, it } from "vitest";

const t = useDatabase({ poolSize: 20 });

afterEach(async () => {
  await expectLedgerConsistent(t.db);
});

const change = (staff: TestUser, customerId: string, body: unknown) =>
  call("POST", `/customers/${customerId}/wallet/transactions`, { token: staff.token, body });

describe("wallets", () => {
  it("starts every customer at 0 in the shop's currency, with no transactions", async () => {
    // Prepare
    const customer = await createUser(t.db);

    // Act
    const r = await call("GET", "/me/wallet", { token: customer.token });

    // Assess
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ balanceCents: 0, currency: "EUR", items: [], nextCursor: null });
  });

  it("lets ops top up, credit and correct, answering 201 with the balance and the transaction, newest first in the wallet", async () => {
    // Prepare
    const customer = await createUser(t.db);
    const ops = await createUser(t.db, "ops");

    // Act
    const topUp = await change(ops, customer.id, { amountCents: 5_000, reason: "top_up" });
    const goodwill = await change(ops, customer.id, {
      amountCents: 500,
      reason: "goodwill",
      note: "late parcel",
    });
    const correction = await change(ops, customer.id, { amountCents: -200, reason: "correction" });
    const mine = await call("GET", "/me/wallet?limit=2", { token: customer.token });
    const next = await call("GET", `/me/wallet?limit=2&cursor=${mine.body.nextCursor}`, {
      token: customer.token,
    });
    const seenByOps = await call("GET", `/customers/${customer.id}/wallet`, { token: ops.token });

    // Assess
    expect([topUp.status, goodwill.status, correction.status]).toEqual([201, 201, 201]);
    expect(goodwill.body).toEqual({
      balanceCents: 5_500,
      transaction: {
        id: expect.any(Number),
        at: expect.any(String),
        amountCents: 500,
        reason: "goodwill",
        orderId: null,
        note: "late parcel",
        balanceAfterCents: 5_500,
      },
    });
    expect(mine.body.balanceCents).toBe(5_300);
    expect(mine.body.items.map((i: { reason: string }) => i.reason)).toEqual([
      "correction",
      "goodwill",
    ]);
    expect(next.body.items.map((i: { reason: string }) => i.reason)).toEqual(["top_up"]);
    expect(next.body.nextCursor).toBeNull();
    expect(seenByOps.body.items).toHaveLength(3);
  });

  it("refuses a debit larger than the balance with 402 INSUFFICIENT_FUNDS and changes nothing", async () => {
    // Prepare
    const customer = await createUser(t.db);
    const admin = await createUser(t.db, "admin");
    await change(admin, customer.id, { amountCents: 1_000, reason: "top_up" });
    const before = await tablesSnapshot(t.db);

    // Act
    const r = await change(admin, customer.id, { amountCents: -1_001, reason: "correction" });

    // Assess
    expect(r.status).toBe(402);
    expect(r.body.error).toMatchObject({
      code: "INSUFFICIENT_FUNDS",
      details: { balanceCents: 1_000, requiredCents: 1_001 },
    });
    expect(await tablesSnapshot(t.db)).toEqual(before);
  });

  it.each([
    { who: "no such user", id: () => randomUUID() },
    { who: "a staff member", id: async () => (await createUser(t.db, "stock_manager")).id },
  ])("answers 404 NOT_FOUND for the wallet of $who", async ({ id }) => {
    // Prepare
    const ops = await createUser(t.db, "ops");
    const customerId = await id();

    // Act
    const read = await call("GET", `/customers/${customerId}/wallet`, { token: ops.token });
    const write = await change(ops, customerId, { amountCents: 100, reason: "top_up" });

    // Assess
    expect([read.status, read.body.error.code]).toEqual([404, "NOT_FOUND"]);
    expect([write.status, write.body.error.code]).toEqual([404, "NOT_FOUND"]);
  });

  it.each([
    { amountCents: 0, reason: "top_up" },
    { amountCents: 1.5, reason: "top_up" },
    { amountCents: 100, reason: "refund" },
    { amountCents: 100, reason: "order_payment" },
    { amountCents: 100_000_001, reason: "top_up" },
  ])("refuses $amountCents as $reason with 400 VALIDATION_FAILED", async (body) => {
    // Prepare
    const customer = await createUser(t.db);
    const ops = await createUser(t.db, "ops");

    // Act
    const r = await change(ops, customer.id, body);

    // Assess
    expect([r.status, r.body.error.code]).toEqual([400, "VALIDATION_FAILED"]);
  });
});

describe("store credit under concurrency", () => {
  it("sells exactly what the balance covers when a customer sends 20 checkouts of 20 carts at once: 5 orders, 15 answers 402, balance 0", async () => {
    // Prepare: a balance that covers exactly five orders of 10.00.
    const customer = await createUser(t.db);
    const ops = await createUser(t.db, "ops");
    await change(ops, customer.id, { amountCents: 5_000, reason: "top_up" });
    const product = await createTestProduct(t.db, { priceCents: 1_000, available: 100 });
    const carts = await Promise.all(
      Array.from({ length: 20 }, () => cartWith(customer, { [product.sku]: 1 })),
    );

    // Act: each with its own address, so that none is held as a duplicate of another.
    const answers = await Promise.all(
      carts.map((cartId, i) =>
        checkoutUntilVerdict(
          customer,
          cartId,
          randomUUID(),
          { ...address, line1: `${i} Race Row` },
          {
            method: "store_credit",
          },
        ),
      ),
    );

    // Assess
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([...Array(5).fill(201), ...Array(15).fill(402)]);
    for (const a of answers.filter((x) => x.status === 402)) {
      expect(a.body.error.code).toBe("INSUFFICIENT_FUNDS");
      expect(a.body.error.details.requiredCents).toBe(1_000);
    }
    const wallet = await call("GET", "/me/wallet?limit=100", { token: customer.token });
    expect(wallet.body.balanceCents).toBe(0);
    expect(
      wallet.body.items.filter((i: { reason: string }) => i.reason === "order_payment"),
    ).toHaveLength(5);
    const { rows } = await t.db.query<{ available: number }>(
      "SELECT available FROM stock WHERE sku = $1",
      [product.sku],
    );
    expect(rows[0]?.available).toBe(95);
  });

  it("never deadlocks a customer's cancellations of store-credit orders against their store-credit checkouts of the same SKU", async () => {
    // Prepare: ten paid orders of one SKU to cancel, and ten more carts of it to check out.
    const customer = await createUser(t.db);
    const ops = await createUser(t.db, "ops");
    await change(ops, customer.id, { amountCents: 100_000, reason: "top_up" });
    const product = await createTestProduct(t.db, { priceCents: 1_000, available: 100 });
    const paid: string[] = [];
    for (let i = 0; i < 10; i++) {
      const cartId = await cartWith(customer, { [product.sku]: 1 });
      const r = await call("POST", "/checkout", {
        token: customer.token,
        headers: { "idempotency-key": randomUUID() },
        body: {
          cartId,
          shippingAddress: { ...address, line1: `${i} Cancel St` },
          payment: { method: "store_credit" },
        },
      });
      paid.push(r.body.id);
    }
    const carts = await Promise.all(
      Array.from({ length: 10 }, () => cartWith(customer, { [product.sku]: 1 })),
    );

    // Act: each cancellation (wallet refund and stock back) beside a checkout (wallet debit and
    // stock taken) of the same customer and SKU.
    const answers = await Promise.all(
      paid.flatMap((orderId, i) => [
        call("POST", `/orders/${orderId}/cancel`, { token: customer.token }),
        call("POST", "/checkout", {
          token: customer.token,
          headers: { "idempotency-key": randomUUID() },
          body: {
            cartId: carts[i],
            shippingAddress: { ...address, line1: `${i} Checkout St` },
            payment: { method: "store_credit" },
          },
        }),
      ]),
    );

    // Assess
    expect(answers.map((a) => a.status).sort()).toEqual([
      ...Array(10).fill(200),
      ...Array(10).fill(201),
    ]);
  });
});
