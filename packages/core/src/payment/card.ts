/**
 * Card payments through a provider (Stripe in production, a fake server in tests). The stock is
 * taken at checkout, as for every order; the money follows:
 *
 * 1. startCardPayment: checkout asks the provider for a payment of the order's total, keyed by the
 *    order id, and hands its client secret to the customer's page.
 * 2. applyPaymentEvent: the provider's webhook says the customer paid (the order is placed) or that
 *    money went back. Each provider event is applied once, recorded in the transaction of its effect.
 * 3. settleCardPayment: after a cancellation, the payment is cancelled at the provider, or the money
 *    refunded, once per order (the order row records the refund request; the provider's
 *    idempotency key covers a crash between the call and that record).
 * 4. expireUnpaidOrders: an order left unpaid past its window is cancelled and its stock put back.
 *
 * Never keep money for an order that will not ship: a payment that arrives for a cancelled order,
 * or that does not match its order, is refunded at once.
 */
import type { Db, Queryable } from "../db/types.ts";
import { DomainError } from "../error.ts";
import {
  cancelLocked,
  lockOrder,
  type Order,
  transition,
  writeRefundedEvent,
} from "../order/index.ts";
import * as z from "../zod.ts";

/** The provider, as the domain needs it; packages/functions adapts Stripe's SDK to it. */
export interface CardPaymentProvider {
  /** A payment of the order's total. The same order id must always give the same payment. */
  createPayment(p: {
    orderId: string;
    customerId: string;
    amountCents: number;
    currency: string;
  }): Promise<{ reference: string; clientSecret: string }>;
  /** `succeeded`: too late, the customer paid first (the provider's webhook will say so). */
  cancelPayment(p: {
    orderId: string;
    reference: string;
  }): Promise<"cancelled" | "already_cancelled" | "succeeded">;
  /**
   * Refunds all that is left of the payment (what the customer paid, which is the order's total
   * unless the payment did not match it). The same order id must never refund twice.
   */
  refundPayment(p: { orderId: string; reference: string }): Promise<{ refundReference: string }>;
}

/** A provider's webhook event, in the domain's terms (the adapter has verified its signature). */
export const PaymentEvent = z.discriminatedUnion("type", [
  z.object({
    id: z.string(),
    type: z.literal("payment_succeeded"),
    /** The provider's event type, recorded as it came. */
    providerType: z.string(),
    reference: z.string(),
    orderId: z.nullable(z.string()),
    amountCents: z.int(),
    currency: z.string(),
  }),
  z.object({
    id: z.string(),
    type: z.literal("payment_refunded"),
    providerType: z.string(),
    reference: z.string(),
    orderId: z.nullable(z.string()),
    /** All that was refunded of the payment so far. */
    refundedCents: z.int(),
    /** Nothing of the payment is left to refund. */
    fullyRefunded: z.boolean(),
  }),
  z.object({ id: z.string(), type: z.literal("other"), providerType: z.string() }),
]);
export type PaymentEvent = z.infer<typeof PaymentEvent>;

/**
 * What an event did: `applied` (the order was paid or refunded), `refund` (money for an order that
 * will not ship goes back), `ignored` (nothing to do), `duplicate` (seen before: nothing changed).
 */
export type PaymentEventOutcome = "applied" | "refund" | "ignored" | "duplicate";

const uuid = z.uuid();

/**
 * Checkout's second step for a card order: the provider's payment for it, and its client secret on
 * the order (and on the stored answer of the checkout's idempotency key, so that a retried checkout
 * answers with it too). An order that already has one, or does not wait for a card payment, comes
 * back as it is. The provider unreachable: 503 PAYMENT_PROVIDER_UNAVAILABLE, and the order keeps its
 * stock until its payment window ends; the same checkout request retries this step.
 */
export async function startCardPayment(
  db: Db,
  provider: CardPaymentProvider,
  order: Order,
  idempotencyKey: string,
): Promise<Order> {
  if (
    order.payment.method !== "card" ||
    order.status !== "awaiting_payment" ||
    order.payment.clientSecret !== null
  ) {
    return order;
  }
  const payment = await provider
    .createPayment({
      orderId: order.id,
      customerId: order.customerId,
      amountCents: order.totalCents,
      currency: order.currency,
    })
    .catch((cause: unknown) => {
      throw new DomainError("PAYMENT_PROVIDER_UNAVAILABLE", { orderId: order.id }, { cause });
    });
  const status = await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ status: string }>(
      `UPDATE orders SET payment_reference = $2, client_secret = $3
        WHERE id = $1 RETURNING status`,
      [order.id, payment.reference, payment.clientSecret],
    );
    await tx.query(
      `UPDATE idempotency_keys
          SET response = jsonb_set(response, '{payment,clientSecret}', to_jsonb($4::text))
        WHERE customer_id = $1 AND key = $2 AND response->>'id' = $3`,
      [order.customerId, idempotencyKey, order.id, payment.clientSecret],
    );
    return rows[0]?.status;
  });
  if (status !== "awaiting_payment") {
    // Cancelled (its window ended) while the provider answered: the cancellation found no payment
    // to cancel, so this one is cancelled here, and nobody gets a secret to pay for it.
    await provider.cancelPayment({ orderId: order.id, reference: payment.reference });
    return order;
  }
  return { ...order, payment: { ...order.payment, clientSecret: payment.clientSecret } };
}

/** Each provider event once: its row is written in the transaction of its effect. */
async function recordEvent(tx: Queryable, event: PaymentEvent): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO payment_events (id, type, outcome) VALUES ($1, $2, 'ignored')
     ON CONFLICT (id) DO NOTHING`,
    [event.id, event.providerType],
  );
  return rowCount === 1;
}

/** The order a provider payment belongs to: by the order id it carries, else by its reference. */
async function lockPaidOrder(
  tx: Queryable,
  event: { reference: string; orderId: string | null },
): Promise<Order | undefined> {
  if (event.orderId && uuid.safeParse(event.orderId).success) {
    const order = await lockOrder(tx, event.orderId);
    if (order) return order;
  }
  const { rows } = await tx.query<{ id: string }>(
    "SELECT id FROM orders WHERE payment_reference = $1",
    [event.reference],
  );
  return rows[0] ? lockOrder(tx, rows[0].id) : undefined;
}

/**
 * A provider's webhook event, applied once. A payment for an order waiting for it places the order
 * (or puts it on hold, as checkout decided), and `order.placed` carries it on as for any order. A
 * payment for an order that was cancelled meanwhile, or for another amount, is refunded.
 */
export async function applyPaymentEvent(db: Db, event: PaymentEvent): Promise<PaymentEventOutcome> {
  return db.transaction(async (tx) => {
    if (!(await recordEvent(tx, event))) return "duplicate";
    if (event.type === "other") return "ignored";
    const order = await lockPaidOrder(tx, event);
    if (order?.payment.method !== "card") return "ignored";
    const outcome =
      event.type === "payment_succeeded"
        ? await paymentSucceeded(tx, order, event)
        : await paymentRefunded(tx, order, event);
    await tx.query("UPDATE payment_events SET outcome = $2, order_id = $3 WHERE id = $1", [
      event.id,
      outcome,
      order.id,
    ]);
    return outcome;
  });
}

const paidAfterCancellation = "paid_after_cancellation";

async function paymentSucceeded(
  tx: Queryable,
  order: Order,
  event: Extract<PaymentEvent, { type: "payment_succeeded" }>,
): Promise<PaymentEventOutcome> {
  const matches =
    event.amountCents === order.totalCents &&
    event.currency.toUpperCase() === order.currency.toUpperCase();
  if (order.status === "awaiting_payment" && matches) {
    await transition(tx, order, {
      to: order.hold ? "on_hold" : "placed",
      from: ["awaiting_payment"],
      action: "paid",
      set: "payment_status = 'paid', payment_reference = coalesce(o.payment_reference, $2)",
      values: [event.reference],
      event: {
        type: order.hold ? "order.held" : "order.placed",
        data: "order_event_data(o, order_lines_json(o.id))",
        extra: order.hold ? { hold: order.hold } : {},
      },
    });
    return "applied";
  }
  if (order.status === "awaiting_payment") {
    // Paid, but not what the order costs: nothing ships for it and the money goes back.
    await tx.query("UPDATE orders SET payment_reference = $2 WHERE id = $1", [
      order.id,
      event.reference,
    ]);
    await cancelLocked(tx, order, {
      actorId: null,
      reason: "The payment did not match the order's total",
      paymentStatus: "refund_pending",
    });
    return "refund";
  }
  if (order.status === "cancelled" && order.payment.status === "cancelled") {
    // Expired or cancelled before the money came: it goes back at once.
    await tx.query(
      `UPDATE orders SET payment_status = 'refund_pending', updated_at = now(),
              payment_reference = coalesce(payment_reference, $2)
        WHERE id = $1`,
      [order.id, event.reference],
    );
    await tx.query(
      `INSERT INTO outbox (type, data)
       SELECT 'order.refund_requested', jsonb_build_object('orderId', o.id,
                'customerId', o.customer_id, 'amountCents', o.total_cents, 'currency', o.currency,
                'reason', $2::text)
         FROM orders o WHERE o.id = $1`,
      [order.id, paidAfterCancellation],
    );
    return "refund";
  }
  return "ignored";
}

async function paymentRefunded(
  tx: Queryable,
  order: Order,
  event: Extract<PaymentEvent, { type: "payment_refunded" }>,
): Promise<PaymentEventOutcome> {
  const refunded = Math.min(event.refundedCents, order.totalCents);
  const complete = event.fullyRefunded || refunded >= order.totalCents;
  if (refunded <= order.payment.refundedCents && !complete) return "ignored";
  if (order.payment.status === "refunded") return "ignored";
  await tx.query(
    `UPDATE orders SET refunded_cents = greatest(refunded_cents, $2), updated_at = now(),
            payment_status = CASE WHEN $3 THEN 'refunded' ELSE payment_status END
      WHERE id = $1`,
    [order.id, refunded, complete],
  );
  await writeRefundedEvent(tx, order.id);
  return "applied";
}

/** What settleCardPayment did at the provider. */
export type Settlement = "payment_cancelled" | "refund_requested" | "nothing";

/**
 * After a cancellation (or a payment that came too late): an unpaid payment is cancelled at the
 * provider, a paid one refunded. The refund is asked for once per order: the order row records it,
 * and the provider's idempotency key (derived from the order) covers a crash between the two. The
 * order stays locked meanwhile, so concurrent deliveries of the same event wait and find it done.
 */
export async function settleCardPayment(
  db: Db,
  provider: CardPaymentProvider,
  orderId: string,
): Promise<Settlement> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{
      method: string;
      status: string;
      paymentStatus: string;
      reference: string | null;
      refundRequested: boolean;
    }>(
      `SELECT payment_method AS method, status, payment_status AS "paymentStatus",
              payment_reference AS reference, refund_requested_at IS NOT NULL AS "refundRequested"
         FROM orders WHERE id = $1 FOR UPDATE`,
      [orderId],
    );
    const order = rows[0];
    if (order?.method !== "card" || !order.reference) return "nothing";
    if (order.status === "cancelled" && order.paymentStatus === "cancelled") {
      // `succeeded`: paid a moment before; the provider's webhook brings that, and it is refunded.
      await provider.cancelPayment({ orderId, reference: order.reference });
      return "payment_cancelled";
    }
    if (order.paymentStatus === "refund_pending" && !order.refundRequested) {
      const refund = await provider.refundPayment({ orderId, reference: order.reference });
      await tx.query(
        "UPDATE orders SET refund_reference = $2, refund_requested_at = now() WHERE id = $1",
        [orderId, refund.refundReference],
      );
      return "refund_requested";
    }
    return "nothing";
  });
}

/**
 * Card orders still unpaid `olderThanMinutes` after checkout are cancelled by the system: the stock
 * goes back and `order.cancelled` has the payment cancelled at the provider and the customer told.
 * One transaction per order, each re-checked under its lock: a payment that lands at the same
 * moment either places the order first or finds it cancelled and is refunded.
 */
export async function expireUnpaidOrders(
  db: Db,
  options: { olderThanMinutes: number; limit?: number },
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM orders
      WHERE status = 'awaiting_payment' AND created_at < now() - make_interval(mins => $1)
      ORDER BY created_at LIMIT $2`,
    [options.olderThanMinutes, options.limit ?? 100],
  );
  const expired: string[] = [];
  for (const { id } of rows) {
    const done = await db.transaction(async (tx) => {
      const order = await lockOrder(tx, id);
      if (order?.status !== "awaiting_payment") return false;
      await cancelLocked(tx, order, { actorId: null, reason: unpaidReason });
      return true;
    });
    if (done) expired.push(id);
  }
  return expired;
}

/** The reason an expired order carries (its cancellation email says it). */
export const unpaidReason = "The card payment was not completed in time";
