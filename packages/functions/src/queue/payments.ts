import { OrderRef } from "@flashstock/core/order/events";
import { settleCardPayment } from "@flashstock/core/payment/card";
import * as z from "@flashstock/core/zod";
import { consumer } from "../lib/queue.ts";
import { db, logger } from "../lib/resources.ts";
import { cardPayments } from "../lib/stripe.ts";

/** What settling reads of an event: which order, and (order.cancelled) how it was paid. */
const Settled = z.extend(OrderRef, { paymentMethod: z.optional(z.string()) });

/**
 * The money of a cancelled card order, at Stripe: an unpaid payment is cancelled, a paid one (or
 * one that came after the order was cancelled) refunded, once per order (settleCardPayment). A
 * Stripe failure fails the message, which SQS redelivers, and after five receives parks in the
 * dead-letter queue, where its alarm is.
 */
export const handler = consumer(async (event) => {
  const { orderId, paymentMethod } = Settled.parse(event.data);
  // Cancellations of orders paid otherwise are settled in their own transaction already.
  if (event.type === "order.cancelled" && paymentMethod !== "card") return;
  const stripe = await cardPayments();
  if (!stripe) throw new Error(`card order ${orderId} to settle, but Stripe is not configured`);
  const done = await settleCardPayment(db(), stripe.provider, orderId);
  logger.info("card payment settled", { orderId, done });
});
