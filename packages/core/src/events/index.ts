import * as z from "../zod.ts";

/**
 * The domain events. They are written to the outbox table in the same transaction as the change
 * they describe (by place_order, apply_stock_delta, set_min_quantity and the order transitions), so
 * none is lost between commit and publish. Publishing is outbox.ts's job. What each carries is
 * defined beside the domain that emits it: order/events.ts, inventory/events.ts.
 */
export const eventTypes = [
  "order.awaiting_payment",
  "order.placed",
  "order.held",
  "order.released",
  "order.cancelled",
  "order.confirmed",
  "order.shipped",
  "order.delivered",
  "order.refunded",
  "order.refund_requested",
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
