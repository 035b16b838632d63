/**
 * Money: store credit debited with the order, never below zero, and refunded once on cancel; cash
 * on delivery paid at the door; card refused while no payment provider is configured. And the
 * order's road to the door: shipped with tracking, delivered, each step in its history.
 */
import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import {
  availableOf,
  countRows,
  expectLedgerConsistent,
  outboxData,
  tablesSnapshot,
  useDatabase,
} from "@flashstock/testing/database";
import { useEventSystem } from "@flashstock/testing/events";
import {
  address,
  cartWith,
  checkout,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { afterEach, describe, expect, it } from "vitest";

const t = useDatabase();
const events = useEventSystem();

const storeCredit = { method: "store_credit" } as const;
const card = { method: "card" } as const;

afterEach(async () => {
  await expectLedgerConsistent(t.db);
});

/** Credits a customer's wallet as ops do. */
async function topUp(customer: TestUser, amountCents: number): Promise<void> {
  const ops = await createUser(t.db, "ops");
  const r = await call("POST", `/customers/${customer.id}/wallet/transactions`, {
    token: ops.token,
    body: { amountCents, reason: "top_up" },
  });
  if (r.status !== 201) throw new Error(`top up: ${r.status} ${r.text}`);
}

const wallet = async (customer: TestUser) =>
  (await call("GET", "/me/wallet", { token: customer.token })).body;

/** An order of `buyer` for one unit of a fresh product of `priceCents`, paid by `payment`. */
async function buy(buyer: TestUser, priceCents: number, payment: { method: string }) {
  const product = await createTestProduct(t.db, { priceCents, available: 10 });
  const cartId = await cartWith(buyer, { [product.sku]: 1 });
  const key = randomUUID();
  return { product, cartId, key, answer: await checkout(buyer, cartId, key, address, payment) };
}

describe("checkout with store credit", () => {
  it("debits the wallet by the total in the order's transaction: the order is placed and paid", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    await topUp(buyer, 5_000);

    // Act
    const { answer } = await buy(buyer, 1_999, storeCredit);

    // Assess
    expect(answer.status).toBe(201);
    expect(answer.body.status).toBe("placed");
    expect(answer.body.payment).toEqual({
      method: "store_credit",
      status: "paid",
      amountCents: 1_999,
      refundedCents: 0,
      clientSecret: null,
    });
    const after = await wallet(buyer);
    expect(after.balanceCents).toBe(3_001);
    expect(after.items[0]).toMatchObject({
      amountCents: -1_999,
      reason: "order_payment",
      orderId: answer.body.id,
      balanceAfterCents: 3_001,
    });
  });

  it("refuses with 402 INSUFFICIENT_FUNDS, naming the balance and the total, and changes nothing", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    await topUp(buyer, 1_000);
    const product = await createTestProduct(t.db, { priceCents: 1_500, available: 3 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    const before = await tablesSnapshot(t.db);

    // Act
    const r = await checkout(buyer, cartId, randomUUID(), address, storeCredit);

    // Assess
    expect(r.status).toBe(402);
    expect(r.body.error).toMatchObject({
      code: "INSUFFICIENT_FUNDS",
      details: { balanceCents: 1_000, requiredCents: 1_500 },
    });
    expect(await tablesSnapshot(t.db)).toEqual(before);
    expect(await availableOf(t.db, product.sku)).toBe(3);
  });

  it("replays the paid order for the same Idempotency-Key without a second debit", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    await topUp(buyer, 5_000);
    const { cartId, key, answer: first } = await buy(buyer, 1_000, storeCredit);

    // Act
    const again = await checkout(buyer, cartId, key, address, storeCredit);

    // Assess
    expect(again.status).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body).toEqual(first.body);
    expect((await wallet(buyer)).balanceCents).toBe(4_000);
  });

  it("refuses a cart priced in another currency than the wallet's with 409 CURRENCY_MISMATCH", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    await topUp(buyer, 50_000);
    const product = await createTestProduct(t.db, { priceCents: 1_000, currency: "USD" });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });

    // Act
    const r = await checkout(buyer, cartId, randomUUID(), address, storeCredit);

    // Assess
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({
      code: "CURRENCY_MISMATCH",
      details: { currency: "USD", walletCurrency: "EUR" },
    });
    expect((await wallet(buyer)).balanceCents).toBe(50_000);
  });
});

describe("checkout by card without a payment provider", () => {
  it("refuses with 409 PAYMENT_METHOD_UNAVAILABLE before anything changes", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 2 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    const before = await tablesSnapshot(t.db);

    // Act
    const r = await checkout(buyer, cartId, randomUUID(), address, card);

    // Assess
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({
      code: "PAYMENT_METHOD_UNAVAILABLE",
      details: { method: "card" },
    });
    expect(await tablesSnapshot(t.db)).toEqual(before);
  });
});

describe("cancelling and refunding", () => {
  it("gives a confirmed store-credit order's money back to the wallet at once, with one refund and one email saying where", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    await topUp(buyer, 3_000);
    const { product, answer } = await buy(buyer, 2_500, storeCredit);
    await events.drain();
    const confirmed = await call("GET", `/orders/${answer.body.id}`, { token: buyer.token });

    // Act
    const r = await call("POST", `/orders/${answer.body.id}/cancel`, {
      token: buyer.token,
      body: { reason: "changed my mind" },
    });
    const again = await call("POST", `/orders/${answer.body.id}/cancel`, { token: buyer.token });
    await events.drain();

    // Assess
    expect(confirmed.body.status).toBe("confirmed");
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("cancelled");
    expect(r.body.payment).toMatchObject({ status: "refunded", refundedCents: 2_500 });
    expect(r.body.history.map((h: { status: string }) => h.status)).toEqual([
      "placed",
      "confirmed",
      "cancelled",
    ]);
    expect(again.status).toBe(409);
    const after = await wallet(buyer);
    expect(after.balanceCents).toBe(3_000);
    expect(after.items[0]).toMatchObject({ amountCents: 2_500, reason: "refund" });
    expect(await availableOf(t.db, product.sku)).toBe(10);
    expect(await outboxData(t.db, "order.refunded", "orderId", answer.body.id)).toEqual([
      expect.objectContaining({ refundedCents: 2_500, paymentMethod: "store_credit" }),
    ]);
    const mail = (await events.inbox(buyer.email)).filter((m) => m.subject.includes("cancelled"));
    expect(mail).toHaveLength(1);
    expect(mail[0]?.body.text).toContain("25.00 EUR went back to your store credit");
  });

  it("cancels the payment of a cash-on-delivery order: nothing was taken", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const { answer } = await buy(buyer, 1_000, { method: "cash_on_delivery" });

    // Act
    const r = await call("POST", `/orders/${answer.body.id}/cancel`, { token: buyer.token });
    await events.drain();

    // Assess
    expect(r.body.payment).toMatchObject({ status: "cancelled", refundedCents: 0 });
    const mail = (await events.inbox(buyer.email)).filter((m) => m.subject.includes("cancelled"));
    expect(mail[0]?.body.text).toContain("You paid nothing");
  });
});

describe("shipping and delivery", () => {
  it("ships a confirmed order with its tracking, emails the customer once, and delivers it: cash on delivery is then paid", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const ops = await createUser(t.db, "ops");
    const { answer } = await buy(buyer, 1_000, { method: "cash_on_delivery" });
    await events.drain();
    const tracking = {
      carrier: "DHL",
      trackingNumber: "00340434161094042557",
      trackingUrl: "https://www.dhl.com/track?n=00340434161094042557",
    };

    // Act
    const shipped = await call("POST", `/orders/${answer.body.id}/ship`, {
      token: ops.token,
      body: tracking,
    });
    const delivered = await call("POST", `/orders/${answer.body.id}/deliver`, {
      token: ops.token,
    });
    await events.drain();

    // Assess
    expect(shipped.status).toBe(200);
    expect(shipped.body.status).toBe("shipped");
    expect(shipped.body.shipment).toEqual({
      ...tracking,
      shippedAt: shipped.body.updatedAt,
      deliveredAt: null,
    });
    expect(delivered.body.status).toBe("delivered");
    expect(delivered.body.payment.status).toBe("paid");
    expect(delivered.body.shipment.deliveredAt).toBe(delivered.body.updatedAt);
    expect(delivered.body.history.map((h: { status: string }) => h.status)).toEqual([
      "placed",
      "confirmed",
      "shipped",
      "delivered",
    ]);
    const mail = (await events.inbox(buyer.email)).filter((m) => m.subject.includes("on its way"));
    expect(mail).toHaveLength(1);
    expect(mail[0]?.body.text).toContain(tracking.trackingUrl);
    // and the customer's order page in the web UI, where the timeline moves
    expect(mail[0]?.body.text).toContain(`http://127.0.0.1:3001/orders/${answer.body.id}`);
    const cancel = await call("POST", `/orders/${answer.body.id}/cancel`, { token: buyer.token });
    expect([cancel.status, cancel.body.error.code]).toEqual([409, "INVALID_STATE"]);
  });

  it.each([
    { action: "ship", body: { carrier: "DHL", trackingNumber: "1" }, allowed: ["confirmed"] },
    { action: "deliver", body: undefined, allowed: ["shipped"] },
  ])(
    "refuses to $action an order that is only placed with 409 INVALID_STATE",
    async ({ action, body, allowed }) => {
      // Prepare
      const buyer = await createUser(t.db);
      const ops = await createUser(t.db, "ops");
      const { answer } = await buy(buyer, 1_000, { method: "cash_on_delivery" });

      // Act
      const r = await call("POST", `/orders/${answer.body.id}/${action}`, {
        token: ops.token,
        ...(body ? { body } : {}),
      });

      // Assess
      expect(r.status).toBe(409);
      expect(r.body.error.details).toEqual({ orderId: answer.body.id, status: "placed", allowed });
      expect(
        await countRows(t.db, "orders WHERE id = $1 AND status = 'placed'", [answer.body.id]),
      ).toBe(1);
    },
  );
});
