import * as Checkout from "@flashstock/core/checkout/index";
import { config } from "../lib/config.ts";
import { reply, route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

export const checkout = route({
  access: ["customer"],
  headers: { "idempotency-key": Checkout.IdempotencyKey },
  body: Checkout.CheckoutInput,
}).handler(async ({ body, headers, principal }) => {
  const key = headers["idempotency-key"] as string;
  const options = { duplicateWindowMinutes: config().duplicateWindowMinutes };
  const { order, replayed } = await Checkout.placeOrder(db(), principal, key, body, options);
  return reply(201, order, replayed ? { "idempotent-replayed": "true" } : {});
});
