import * as z from "zod";

/**
 * The domain events. They are written to the outbox table in the same transaction as the change
 * they describe (by place_order, apply_stock_delta, set_min_quantity and the order transitions), so
 * none is lost between commit and publish. Publishing is outbox.ts's job.
 */
export const eventTypes = [
  "order.placed",
  "order.held",
  "order.released",
  "order.cancelled",
  "order.confirmed",
  "inventory.low",
  "inventory.out",
  "inventory.restocked",
] as const;
export const EventType = z.enum(eventTypes);
export type EventType = z.infer<typeof EventType>;

/** What every event looks like on the wire: on the bus (as the detail), in a queue, in a test. */
export const DomainEvent = z.object({
  id: z.uuid(),
  type: EventType,
  occurredAt: z.iso.datetime(),
  data: z.record(z.string(), z.unknown()),
});
export type DomainEvent<T = Record<string, unknown>> = Omit<z.infer<typeof DomainEvent>, "data"> & {
  data: T;
};

const OrderLine = z.object({
  sku: z.string(),
  name: z.string(),
  quantity: z.number().int(),
  unitPriceCents: z.number().int(),
});

export const Hold = z.object({
  reason: z.literal("SUSPECTED_DUPLICATE"),
  duplicateOf: z.uuid(),
});

/** order.placed, order.held and order.released: the whole order, so consumers need no lookup. */
export const OrderEventData = z.object({
  orderId: z.uuid(),
  customerId: z.uuid(),
  lines: z.array(OrderLine),
  totalCents: z.number().int(),
  currency: z.string(),
  shippingAddress: z.record(z.string(), z.string()),
  /** Customer, SKUs and quantities, normalised address: equal for the same order placed twice. */
  fingerprint: z.string(),
  hold: Hold.optional(),
});
export type OrderEventData = z.infer<typeof OrderEventData>;

export const InventoryEventData = z.object({
  sku: z.string(),
  available: z.number().int(),
  minQuantity: z.number().int(),
  /** The order whose sale (or cancellation) crossed the threshold; null for a manual change. */
  orderId: z.uuid().nullable(),
});
export type InventoryEventData = z.infer<typeof InventoryEventData>;
