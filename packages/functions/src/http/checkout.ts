import * as Checkout from "@flashstock/core/checkout/index";
import { Order } from "@flashstock/core/order/index";
import { config } from "../lib/config.ts";
import { route, withHeaders } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

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
    "PAYMENT_METHOD_UNAVAILABLE",
    "IDEMPOTENCY_KEY_REUSED",
  ],
}).handler(async ({ body, headers, principal }) => {
  const key = headers["idempotency-key"] as string;
  // Card payments come with the payment provider's adapter; until then every card checkout is
  // refused as a shop without Stripe configured refuses it.
  const options = { duplicateWindowMinutes: config().duplicateWindowMinutes, cardPayments: false };
  const { order, replayed } = await Checkout.placeOrder(db(), principal, key, body, options);
  return withHeaders(order, replayed ? { "idempotent-replayed": "true" } : {});
});
