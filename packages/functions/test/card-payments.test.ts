/**
 * Card payments through Stripe, against a fake Stripe HTTP server that the real `stripe` SDK talks
 * to: the stock is taken at checkout and the order waits for its payment; the signed webhook places
 * it; an order left unpaid expires and its stock goes back; money for an order that will not ship
 * is refunded, once per order whatever is redelivered.
 */
import { randomUUID } from "node:crypto";
import type { DomainEvent } from "@flashstock/core/events/index";
import { call, lambdaContext } from "@flashstock/testing/api";
import {
  availableOf,
  countRows,
  expectLedgerConsistent,
  outboxEvents,
  tablesSnapshot,
  useDatabase,
} from "@flashstock/testing/database";
import { sqsBatch, useEventSystem } from "@flashstock/testing/events";
import { deliverWebhook, type SignedWebhook, useFakeStripe } from "@flashstock/testing/fake-stripe";
import {
  address,
  cartWith,
  checkout,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { afterEach, describe, expect, it } from "vitest";
import { handler as paymentsConsumer } from "../src/queue/payments.ts";

const t = useDatabase();
const events = useEventSystem();
const stripe = useFakeStripe();

const card = { method: "card" } as const;

afterEach(async () => {
  await expectLedgerConsistent(t.db);
});

/** `buyer` checks out one unit of a fresh product (10 in stock) by card. */
async function buyByCard(buyer: TestUser, priceCents = 2_500) {
  const product = await createTestProduct(t.db, { priceCents, available: 10 });
  const cartId = await cartWith(buyer, { [product.sku]: 1 });
  const key = randomUUID();
  const answer = await checkout(buyer, cartId, key, address, card);
  if (answer.status !== 201) throw new Error(`checkout: ${answer.status} ${answer.text}`);
  const intent = stripe.intentOf(answer.body.id);
  if (!intent) throw new Error(`no PaymentIntent for order ${answer.body.id}`);
  return { product, cartId, key, order: answer.body, intent };
}

const orderOf = async (buyer: TestUser, id: string) =>
  (await call("GET", `/orders/${id}`, { token: buyer.token })).body;

/** Moves an order's checkout back in time, as if it had waited `minutes` for its payment. */
const ageOrder = (id: string, minutes: number) =>
  t.db.query(
    "UPDATE orders SET created_at = created_at - make_interval(mins => $2) WHERE id = $1",
    [id, minutes],
  );

const refundRequests = (orderId: string) =>
  stripe.requestsTo("POST /v1/refunds").filter((r) => r.params["metadata[orderId]"] === orderId);

describe("checkout by card", () => {
  it("takes the stock and answers awaiting_payment with the client secret of a PaymentIntent keyed by the order id", async () => {
    // Prepare
    const buyer = await createUser(t.db);

    // Act
    const { product, order, intent } = await buyByCard(buyer, 2_500);

    // Assess
    expect(order.status).toBe("awaiting_payment");
    expect(order.payment).toEqual({
      method: "card",
      status: "pending",
      amountCents: 2_500,
      refundedCents: 0,
      clientSecret: intent.client_secret,
    });
    expect(await availableOf(t.db, product.sku)).toBe(9);
    const created = stripe
      .requestsTo("POST /v1/payment_intents")
      .filter((r) => r.params["metadata[orderId]"] === order.id);
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      idempotencyKey: order.id,
      params: { amount: "2500", currency: "eur", "metadata[customerId]": buyer.id },
    });
    expect(await outboxEvents(t.db, "order.awaiting_payment", "orderId", order.id)).toHaveLength(1);
  });

  it("shows the client secret to the order's owner only", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const ops = await createUser(t.db, "ops");
    const { order, intent } = await buyByCard(buyer);

    // Act
    const asOwner = await orderOf(buyer, order.id);
    const asOps = await orderOf(ops, order.id);

    // Assess
    expect(asOwner.payment.clientSecret).toBe(intent.client_secret);
    expect(asOps.payment.clientSecret).toBeNull();
  });

  it("answers a retried checkout with the same order and client secret, and asks Stripe for no second payment", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const { cartId, key, order } = await buyByCard(buyer);

    // Act
    const again = await checkout(buyer, cartId, key, address, card);

    // Assess
    expect(again.status).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body).toEqual(order);
    expect(
      [...stripe.intents.values()].filter((i) => i.metadata.orderId === order.id),
    ).toHaveLength(1);
  });

  it("answers 503 PAYMENT_PROVIDER_UNAVAILABLE while Stripe is unreachable; the same request later gets the order and its client secret", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { priceCents: 1_200, available: 5 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    const key = randomUUID();
    stripe.down = true;

    // Act
    const refused = await checkout(buyer, cartId, key, address, card).finally(() => {
      stripe.down = false;
    });
    const retried = await checkout(buyer, cartId, key, address, card);

    // Assess
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("PAYMENT_PROVIDER_UNAVAILABLE");
    const orderId = refused.body.error.details.orderId;
    expect(retried.status).toBe(201);
    expect(retried.body.id).toBe(orderId);
    expect(retried.body.payment.clientSecret).toBe(stripe.intentOf(orderId)?.client_secret);
    expect((await orderOf(buyer, orderId)).payment.clientSecret).toBe(
      retried.body.payment.clientSecret,
    );
    expect(await availableOf(t.db, product.sku)).toBe(4);
  });
});

describe("Stripe's webhook", () => {
  it("places the order on payment_intent.succeeded; fulfilment confirms it and emails the customer", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const { order, intent } = await buyByCard(buyer);

    // Act
    const r = await deliverWebhook(stripe.pay(intent.id));
    const placed = await orderOf(buyer, order.id);
    await events.drain();

    // Assess
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ received: true, outcome: "applied" });
    expect(placed.status).toBe("placed");
    expect(placed.payment).toMatchObject({ status: "paid", clientSecret: null });
    expect(await outboxEvents(t.db, "order.placed", "orderId", order.id)).toHaveLength(1);
    const confirmed = await orderOf(buyer, order.id);
    expect(confirmed.history.map((h: { status: string }) => h.status)).toEqual([
      "awaiting_payment",
      "placed",
      "confirmed",
    ]);
    const mail = await events.inbox(buyer.email);
    expect(mail.filter((m) => m.subject.includes("is confirmed"))).toHaveLength(1);
  });

  it("changes nothing when the same event is delivered again", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const { intent } = await buyByCard(buyer);
    const webhook = stripe.pay(intent.id);
    await deliverWebhook(webhook);
    const before = await tablesSnapshot(t.db);

    // Act
    const again = await deliverWebhook(webhook);

    // Assess
    expect(again.status).toBe(200);
    expect(again.body.outcome).toBe("duplicate");
    expect(await tablesSnapshot(t.db)).toEqual(before);
  });

  it("applies an event once when Stripe delivers it several times at once", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const { order, intent } = await buyByCard(buyer);
    const webhook = stripe.pay(intent.id);

    // Act
    const answers = await Promise.all(Array.from({ length: 6 }, () => deliverWebhook(webhook)));

    // Assess
    const outcomes = answers.map((a) => `${a.status} ${a.body.outcome}`).sort();
    expect(outcomes).toEqual(["200 applied", ...Array(5).fill("200 duplicate")]);
    expect(await outboxEvents(t.db, "order.placed", "orderId", order.id)).toHaveLength(1);
  });

  const forged = {
    "no Stripe-Signature header": (w: SignedWebhook) => ({ ...w, signature: undefined }),
    "a signature made with another secret": (w: SignedWebhook) => ({
      ...w,
      signature: stripe.event("payment_intent.succeeded", {}, { secret: "whsec_someone_else" })
        .signature,
    }),
    "a body changed after it was signed": (w: SignedWebhook) => ({
      ...w,
      payload: w.payload.replace('"amount_received":2500', '"amount_received":1'),
    }),
    "a malformed signature header": (w: SignedWebhook) => ({ ...w, signature: "t=1,v1=zz" }),
  };

  it.each(Object.keys(forged) as (keyof typeof forged)[])(
    "refuses %s with 400 INVALID_SIGNATURE and changes nothing",
    async (name) => {
      // Prepare
      const buyer = await createUser(t.db);
      const { order, intent } = await buyByCard(buyer, 2_500);
      const bad = forged[name](stripe.pay(intent.id));
      const before = await tablesSnapshot(t.db);

      // Act
      const r = await deliverWebhook(bad, bad.signature);

      // Assess
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("INVALID_SIGNATURE");
      expect(await tablesSnapshot(t.db)).toEqual(before);
      expect((await orderOf(buyer, order.id)).status).toBe("awaiting_payment");
    },
  );

  it("answers 200 to an event type it does not act on, and does nothing with it", async () => {
    // Prepare
    const webhook = stripe.event("customer.created", { id: "cus_1", object: "customer" });
    const orders = await countRows(t.db, "orders");

    // Act
    const r = await deliverWebhook(webhook);

    // Assess
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ received: true, outcome: "ignored" });
    expect(await countRows(t.db, "orders")).toBe(orders);
  });

  it("cancels an order paid with another amount, puts its stock back and refunds the payment", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const { product, order, intent } = await buyByCard(buyer, 2_500);

    // Act
    const r = await deliverWebhook(stripe.pay(intent.id, 100));
    await events.drain();

    // Assess
    expect(r.body.outcome).toBe("refund");
    const cancelled = await orderOf(buyer, order.id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.payment.status).toBe("refund_pending");
    expect(await availableOf(t.db, product.sku)).toBe(10);
    expect(refundRequests(order.id)).toHaveLength(1);
    expect(stripe.intent(intent.id).refunded).toBe(100);
  });
});

describe("an unpaid card order", () => {
  it("expires after PAYMENT_WINDOW_MINUTES: cancelled, its stock back, its PaymentIntent cancelled, its customer told", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const { product, order, intent } = await buyByCard(buyer);
    await ageOrder(order.id, 16);

    // Act
    await events.system.runSchedule("expire-unpaid-orders");
    await events.drain();

    // Assess
    const expired = await orderOf(buyer, order.id);
    expect(expired.status).toBe("cancelled");
    expect(expired.payment).toMatchObject({ status: "cancelled", clientSecret: null });
    expect(await availableOf(t.db, product.sku)).toBe(10);
    expect(stripe.intent(intent.id).status).toBe("canceled");
    expect(refundRequests(order.id)).toHaveLength(0);
    const mail = await events.inbox(buyer.email);
    const cancelledMail = mail.find((m) => m.subject.includes("is cancelled"));
    expect(cancelledMail?.body.text).toContain("not completed in time");
    expect(cancelledMail?.body.text).toContain("You were not charged");
  });

  it("is left alone while its payment window is open", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const { order } = await buyByCard(buyer);
    await ageOrder(order.id, 14);

    // Act
    await events.system.runSchedule("expire-unpaid-orders");

    // Assess
    expect((await orderOf(buyer, order.id)).status).toBe("awaiting_payment");
  });

  it("is refunded at once, and once, when its payment lands after it expired", async () => {
    // Prepare: the customer pays while the expiry runs; Stripe's webhook comes after both.
    const buyer = await createUser(t.db);
    const { product, order, intent } = await buyByCard(buyer);
    const succeeded = stripe.pay(intent.id);
    await ageOrder(order.id, 16);
    await events.system.runSchedule("expire-unpaid-orders");
    await events.drain();

    // Act
    const first = await deliverWebhook(succeeded);
    await events.drain();
    const again = await deliverWebhook(succeeded);
    await events.drain();
    const refunded = await deliverWebhook(stripe.refunded(intent.id));

    // Assess
    expect([first.body.outcome, again.body.outcome, refunded.body.outcome]).toEqual([
      "refund",
      "duplicate",
      "applied",
    ]);
    expect(refundRequests(order.id)).toHaveLength(1);
    expect(refundRequests(order.id)[0]?.idempotencyKey).toBe(`refund-${order.id}`);
    const after = await orderOf(buyer, order.id);
    expect(after.status).toBe("cancelled");
    expect(after.payment).toMatchObject({ status: "refunded", refundedCents: 2_500 });
    expect(await availableOf(t.db, product.sku)).toBe(10);
    const mail = await events.inbox(buyer.email);
    expect(mail.filter((m) => m.subject.includes("is being refunded"))).toHaveLength(1);
  });
});

describe("cancelling a card order", () => {
  it("refunds a paid order through Stripe once, however often its cancellation is redelivered", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const { order, intent } = await buyByCard(buyer);
    await deliverWebhook(stripe.pay(intent.id));
    await events.drain();

    // Act
    const cancelled = await call("POST", `/orders/${order.id}/cancel`, {
      token: buyer.token,
      body: { reason: "changed my mind" },
    });
    await events.drain();
    const [event] = (await outboxEvents(t.db, "order.cancelled", "orderId", order.id)) as [
      DomainEvent,
    ];
    for (let i = 0; i < 3; i++) {
      await paymentsConsumer(
        sqsBatch([{ group: order.id, body: event }]),
        lambdaContext("payments"),
      );
    }
    const refunded = await deliverWebhook(stripe.refunded(intent.id));

    // Assess
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.payment.status).toBe("refund_pending");
    expect(refundRequests(order.id)).toHaveLength(1);
    expect(refunded.body.outcome).toBe("applied");
    const after = await orderOf(buyer, order.id);
    expect(after.payment).toMatchObject({ status: "refunded", refundedCents: 2_500 });
    expect(await outboxEvents(t.db, "order.refunded", "orderId", order.id)).toHaveLength(1);
    const mail = await events.inbox(buyer.email);
    const cancelledMail = mail.find((m) => m.subject.includes("is cancelled"));
    expect(cancelledMail?.body.text).toContain("will be refunded to your card");
  });

  it("cancels the PaymentIntent of an unpaid order and asks for no refund", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const { product, order, intent } = await buyByCard(buyer);

    // Act
    const r = await call("POST", `/orders/${order.id}/cancel`, { token: buyer.token });
    await events.drain();

    // Assess
    expect(r.status).toBe(200);
    expect(r.body.payment).toMatchObject({ status: "cancelled", clientSecret: null });
    expect(stripe.intent(intent.id).status).toBe("canceled");
    expect(refundRequests(order.id)).toHaveLength(0);
    expect(await availableOf(t.db, product.sku)).toBe(10);
  });
});
