import * as Checkout from "@flashstock/core/checkout/index";
import { Order } from "@flashstock/core/order/index";
import { startCardPayment } from "@flashstock/core/payment/card";
import { config } from "../lib/config.ts";
import { route, withHeaders } from "../lib/http.ts";
import { db } from "../lib/resources.ts";
import { cardPayments, cardPaymentsEnabled } from "../lib/stripe.ts";

export const checkout = route({
  access: ["customer"],
  summary: "Turn a cart into an order, once per Idempotency-Key",
  headers: { "idempotency-key": Checkout.IdempotencyKey },
  body: Checkout.CheckoutInput,
  returns: {
    status: 201,
    body: Order,
    headers: {
      "idempotent-replayed":
        "`true` when this is the stored answer to an earlier request with the same key",
    },
  },
  errors: [
    "NOT_FOUND",
    "CART_CLOSED",
    "CART_EMPTY",
    "CURRENCY_MISMATCH",
    "INSUFFICIENT_STOCK",
    "INSUFFICIENT_FUNDS",
    "PRICE_CHANGED",
    "PURCHASE_LIMIT",
    "NOT_YET_AVAILABLE",
    "PROMOTION_INACTIVE",
    "PROMOTION_MIN_SUBTOTAL",
    "PROMOTION_EXHAUSTED",
    "PROMOTION_ALREADY_USED",
    "PAYMENT_METHOD_UNAVAILABLE",
    "IDEMPOTENCY_KEY_REUSED",
    "PAYMENT_PROVIDER_UNAVAILABLE",
  ],
}).handler(async ({ body, headers, principal }) => {
  const key = headers["idempotency-key"] as string;
  const options = {
    duplicateWindowMinutes: config().duplicateWindowMinutes,
    cardPayments: cardPaymentsEnabled(),
  };
  const placed = await Checkout.placeOrder(db(), principal, key, body, options);
  // A card order gets its payment at Stripe now (or on the retry, if Stripe was down).
  const stripe = body.payment.method === "card" ? await cardPayments() : undefined;
  const order = stripe
    ? await startCardPayment(db(), stripe.provider, placed.order, key)
    : placed.order;
  return withHeaders(order, placed.replayed ? { "idempotent-replayed": "true" } : {});
});
