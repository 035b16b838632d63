/**
 * Stripe, through its official SDK, adapted to the domain's CardPaymentProvider, and its webhook
 * events verified and turned into PaymentEvents. The SDK is imported on first use: it is installed
 * beside the bundle (see nodeModulesFor in the topology), and a checkout paid by store credit or on
 * delivery never loads it.
 */
import { DomainError } from "@flashstock/core/error";
import type { CardPaymentProvider, PaymentEvent } from "@flashstock/core/payment/card";
import * as z from "@flashstock/core/zod";
import type Stripe from "stripe";
import { type PaymentsConfig, paymentsConfig } from "./config.ts";
import { onFirstUse } from "./resources.ts";

export interface CardPayments {
  provider: CardPaymentProvider;
  /** The event a webhook request carries, once its `Stripe-Signature` is verified. */
  verifyWebhook(rawBody: string, signature: string | undefined): PaymentEvent;
}

/** The payment intents of one order: the order id is Stripe's idempotency key for creating it. */
export function stripeProvider(stripe: Stripe): CardPaymentProvider {
  return {
    async createPayment({ orderId, customerId, amountCents, currency }) {
      const intent = await stripe.paymentIntents.create(
        {
          amount: amountCents,
          currency: currency.toLowerCase(),
          metadata: { orderId, customerId },
          automatic_payment_methods: { enabled: true },
        },
        { idempotencyKey: orderId },
      );
      if (!intent.client_secret) throw new Error(`PaymentIntent ${intent.id} has no client secret`);
      return { reference: intent.id, clientSecret: intent.client_secret };
    },
    async cancelPayment({ reference }) {
      try {
        await stripe.paymentIntents.cancel(reference);
        return "cancelled";
      } catch (err) {
        // Stripe refuses to cancel a payment that succeeded or was cancelled already.
        if ((err as { code?: string }).code !== "payment_intent_unexpected_state") throw err;
        const intent = await stripe.paymentIntents.retrieve(reference);
        if (intent.status === "canceled") return "already_cancelled";
        if (intent.status === "succeeded") return "succeeded";
        throw err;
      }
    },
    async refundPayment({ orderId, reference }) {
      // No amount: Stripe refunds all that is left of the payment.
      const refund = await stripe.refunds.create(
        { payment_intent: reference, metadata: { orderId } },
        { idempotencyKey: `refund-${orderId}` },
      );
      return { refundReference: refund.id };
    },
  };
}

/**
 * A Stripe Event, as far as we read it (the rest passes through): the webhook route documents its
 * body with it, and every verified event is checked against it, since a signed event is Stripe's
 * but its shape is still input.
 */
export const StripeEvent = z.looseObject({
  id: z.string(),
  type: z.string(),
  data: z.looseObject({ object: z.record(z.string(), z.unknown()) }),
});
const Metadata = z.optional(z.nullable(z.record(z.string(), z.string())));
const SucceededIntent = z.object({
  id: z.string(),
  amount: z.int(),
  amount_received: z.optional(z.int()),
  currency: z.string(),
  metadata: Metadata,
});
const RefundedCharge = z.object({
  payment_intent: z.union([z.string(), z.object({ id: z.string() })]),
  amount_refunded: z.int(),
  refunded: z.optional(z.boolean()),
  metadata: Metadata,
});

/** A Stripe event, as the domain sees it; types we do not act on are `other`. */
export function toPaymentEvent(raw: unknown): PaymentEvent {
  const event = StripeEvent.parse(raw);
  const base = { id: event.id, providerType: event.type };
  if (event.type === "payment_intent.succeeded") {
    const intent = SucceededIntent.parse(event.data.object);
    return {
      ...base,
      type: "payment_succeeded",
      reference: intent.id,
      orderId: intent.metadata?.orderId ?? null,
      amountCents: intent.amount_received ?? intent.amount,
      currency: intent.currency,
    };
  }
  if (event.type === "charge.refunded") {
    const charge = RefundedCharge.parse(event.data.object);
    const reference =
      typeof charge.payment_intent === "string" ? charge.payment_intent : charge.payment_intent.id;
    return {
      ...base,
      type: "payment_refunded",
      reference,
      orderId: charge.metadata?.orderId ?? null,
      refundedCents: charge.amount_refunded,
      fullyRefunded: charge.refunded ?? false,
    };
  }
  return { ...base, type: "other" };
}

async function loadStripe(c: PaymentsConfig): Promise<CardPayments> {
  const { default: StripeSdk } = await import("stripe");
  const stripe = new StripeSdk(c.stripeSecretKey, {
    // The SDK retries network failures with the same idempotency key; Lambda has 15 s in all.
    maxNetworkRetries: 2,
    timeout: 8_000,
    telemetry: false,
    ...(c.stripeApi ?? {}),
  });
  return {
    provider: stripeProvider(stripe),
    verifyWebhook(rawBody, signature) {
      let event: unknown;
      try {
        if (!signature) throw new Error("no Stripe-Signature header");
        event = stripe.webhooks.constructEvent(rawBody, signature, c.stripeWebhookSecret);
      } catch (cause) {
        throw new DomainError("INVALID_SIGNATURE", undefined, { cause });
      }
      try {
        return toPaymentEvent(event);
      } catch (cause) {
        throw new DomainError("VALIDATION_FAILED", { in: "body" }, { cause });
      }
    },
  };
}

let loaded: (() => Promise<CardPayments>) | undefined;

/**
 * Stripe, when this stage takes card payments (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET set),
 * loaded once per Lambda instance; `undefined` otherwise.
 */
export async function cardPayments(): Promise<CardPayments | undefined> {
  const c = paymentsConfig();
  if (!c) return undefined;
  loaded ??= onFirstUse(() => loadStripe(c));
  return loaded();
}

/** Whether this stage takes card payments, without loading the SDK. */
export const cardPaymentsEnabled = () => paymentsConfig() !== undefined;

/** For tests: forget the client so the next call reads the configuration again. */
export function resetCardPayments(): void {
  loaded = undefined;
}
