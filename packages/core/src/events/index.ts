/**
 * The domain events. They are written to the outbox table in the same transaction as the change
 * they describe (by place_order, apply_stock_delta and cancelOrder), so none is lost between commit
 * and publish; publishing them is the publisher's job.
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
export type EventType = (typeof eventTypes)[number];

export interface DomainEvent<T = Record<string, unknown>> {
  id: string;
  type: EventType;
  occurredAt: string;
  data: T;
}

export interface InventoryEventData {
  sku: string;
  available: number;
  minQuantity: number;
  orderId: string | null;
}

export interface OrderPlacedData {
  orderId: string;
  customerId: string;
  lines: { sku: string; name: string; quantity: number; unitPriceCents: number }[];
  totalCents: number;
  currency: string;
  shippingAddress: Record<string, string>;
}

interface OutboxRow {
  id: string;
  type: EventType;
  occurred_at: Date;
  data: Record<string, unknown>;
}

export const fromOutboxRow = (r: OutboxRow): DomainEvent => ({
  id: r.id,
  type: r.type,
  occurredAt: r.occurred_at.toISOString(),
  data: r.data,
});
