import { DomainError } from "@flashstock/core/error";
import { applyPaymentEvent } from "@flashstock/core/payment/card";
import * as z from "@flashstock/core/zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";
import { cardPayments, StripeEvent } from "../lib/stripe.ts";

const Received = z.object({
  received: z.literal(true),
  /** `duplicate`: this event id was applied before, and nothing changed now. */
  outcome: z.enum(["applied", "refund", "ignored", "duplicate"]),
});

export const stripe = route({
  access: "public",
  summary: "Stripe's webhook: each payment event applied once (signed with STRIPE_WEBHOOK_SECRET)",
  headers: { "stripe-signature": z.optional(z.string().check(z.maxLength(2000))) },
  body: z.string(),
  // What Stripe sends: an Event, read only once its signature is verified.
  rawBody: { describedBy: StripeEvent },
  returns: { status: 200, body: Received },
  errors: ["INVALID_SIGNATURE"],
}).handler(async ({ body, headers }) => {
  const stripe = await cardPayments();
  // No signing secret, nothing to verify against: nothing can be signed for this stage.
  if (!stripe) throw new DomainError("INVALID_SIGNATURE");
  const event = stripe.verifyWebhook(body, headers["stripe-signature"]);
  return { received: true as const, outcome: await applyPaymentEvent(db(), event) };
});
