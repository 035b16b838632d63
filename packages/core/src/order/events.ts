import * as z from "zod";
import { Address, OrderHold, OrderLine } from "./index.ts";

/**
 * The data of order.placed, order.held and order.released: the whole order, so that consumers need
 * no lookup (written by order_event_data.sql). order.held adds the hold, order.released who
 * released it.
 */
export const OrderEventData = z.object({
  orderId: z.uuid(),
  customerId: z.uuid(),
  lines: z.array(OrderLine),
  totalCents: z.number().int(),
  currency: z.string(),
  shippingAddress: Address,
  /** Customer, SKUs and quantities, normalised address: equal for the same order placed twice. */
  fingerprint: z.string(),
  hold: OrderHold.pick({ reason: true, duplicateOf: true }).optional(),
  releasedBy: z.uuid().optional(),
});
export type OrderEventData = z.infer<typeof OrderEventData>;
