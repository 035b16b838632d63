import * as z from "../zod.ts";
import { Address, OrderHold, OrderLine, PaymentMethod } from "./index.ts";

/**
 * The data of order.placed, order.held and order.released: the whole order, so that consumers need
 * no lookup (written by order_event_data.sql). order.held adds the hold, order.released who
 * released it.
 */
export const OrderEventData = z.object({
  orderId: z.uuid(),
  customerId: z.uuid(),
  lines: z.array(OrderLine),
  /** Absent from events written before orders carried promotions. */
  discountCents: z.optional(z.int()),
  promotionCode: z.optional(z.nullable(z.string())),
  totalCents: z.int(),
  currency: z.string(),
  shippingAddress: Address,
  /** Customer, SKUs and quantities, normalised address: equal for the same order placed twice. */
  fingerprint: z.string(),
  hold: z.optional(z.pick(OrderHold, { reason: true, duplicateOf: true })),
  releasedBy: z.optional(z.uuid()),
  paymentMethod: z.optional(PaymentMethod),
});
export type OrderEventData = z.infer<typeof OrderEventData>;

/** Every order event carries at least which order, and whose. */
export const OrderRef = z.object({ orderId: z.uuid(), customerId: z.uuid() });
