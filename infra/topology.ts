/**
 * The system, as plain data: every HTTP route, queue, bus rule and schedule, and the handler behind
 * each. The local runtime builds its router, queues, bus and timers from this file, and the cloud
 * definitions (SST in infra/, CDK in stacks/) read the same file, so that local and cloud cannot
 * drift. No SST or CDK import belongs here.
 *
 * A handler is named as SST names it: "<file path without extension>.<export name>".
 */
import type { EventType } from "../packages/core/src/events/index.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface HttpRoute {
  method: HttpMethod;
  /** API Gateway route syntax: `{name}` is one path segment. */
  path: string;
  handler: string;
}

const http = "packages/functions/src/http";

export const routes = [
  { method: "GET", path: "/health", handler: `${http}/health.check` },

  { method: "POST", path: "/auth/register", handler: `${http}/auth.register` },
  { method: "POST", path: "/auth/login", handler: `${http}/auth.login` },
  { method: "POST", path: "/staff", handler: `${http}/staff.create` },

  { method: "GET", path: "/products", handler: `${http}/products.list` },
  { method: "POST", path: "/products", handler: `${http}/products.create` },
  { method: "GET", path: "/products/{sku}", handler: `${http}/products.get` },
  { method: "PATCH", path: "/products/{sku}", handler: `${http}/products.update` },

  { method: "GET", path: "/inventory", handler: `${http}/inventory.list` },
  { method: "PUT", path: "/inventory/{sku}", handler: `${http}/inventory.setMinimum` },
  { method: "POST", path: "/inventory/{sku}/adjustments", handler: `${http}/inventory.adjust` },
  { method: "GET", path: "/inventory/{sku}/movements", handler: `${http}/inventory.movements` },

  { method: "POST", path: "/carts", handler: `${http}/cart.create` },
  { method: "GET", path: "/carts/{id}", handler: `${http}/cart.get` },
  { method: "PUT", path: "/carts/{id}/items/{sku}", handler: `${http}/cart.setItem` },
  { method: "DELETE", path: "/carts/{id}/items/{sku}", handler: `${http}/cart.removeItem` },

  { method: "POST", path: "/checkout", handler: `${http}/checkout.checkout` },

  { method: "GET", path: "/orders", handler: `${http}/orders.list` },
  { method: "GET", path: "/orders/{id}", handler: `${http}/orders.get` },
  { method: "POST", path: "/orders/{id}/cancel", handler: `${http}/orders.cancel` },
  { method: "POST", path: "/orders/{id}/release", handler: `${http}/orders.release` },
] as const satisfies readonly HttpRoute[];

/** A field of an event: `id`, or `data.<name>`. */
export type EventField = "id" | `data.${string}`;

/**
 * An SQS FIFO queue that the publisher feeds straight from the outbox (not through the bus: an
 * EventBridge target can only give a FIFO queue one fixed MessageGroupId, and we need one group per
 * customer or SKU and our own deduplication ids).
 */
export interface FifoQueue {
  /** The queue is `<name>.fifo`; its dead-letter queue `<name>-dlq.fifo`. */
  name: string;
  /** The event types the publisher sends to this queue. */
  events: readonly EventType[];
  /** Messages of one group are delivered in order, one group never waits for another. */
  messageGroupId: EventField;
  /** SQS drops a message whose id it has seen in the last 5 minutes. Per type; `default` otherwise. */
  deduplicationId: { default: EventField } & Partial<Record<EventType, EventField>>;
  consumer: {
    handler: string;
    /** Up to 10 messages per invocation (the FIFO maximum). */
    batchSize: number;
  };
  /** Long enough for a whole batch, emails included (SQS default is 30 s). */
  visibilityTimeoutSeconds: number;
  /** After this many receives a message moves to the dead-letter queue. */
  maxReceiveCount: number;
}

export const queues = [
  {
    name: "order-events",
    events: ["order.placed", "order.held", "order.released", "order.cancelled", "order.confirmed"],
    messageGroupId: "data.customerId",
    // The same order placed twice (same customer, lines and address) within SQS's deduplication
    // window never reaches fulfilment twice; every other event is deduplicated by its own id.
    deduplicationId: { default: "id", "order.placed": "data.fingerprint" },
    consumer: { handler: "packages/functions/src/queue/order-events.handler", batchSize: 10 },
    visibilityTimeoutSeconds: 60,
    maxReceiveCount: 5,
  },
  {
    name: "stock-alerts",
    events: ["inventory.low", "inventory.out", "inventory.restocked"],
    messageGroupId: "data.sku",
    deduplicationId: { default: "id" },
    consumer: { handler: "packages/functions/src/queue/stock-alerts.handler", batchSize: 10 },
    visibilityTimeoutSeconds: 60,
    maxReceiveCount: 5,
  },
] as const satisfies readonly FifoQueue[];

/** Every event goes to this EventBridge bus, with source `flashstock` and detail-type its type. */
export const bus = { name: "events", source: "flashstock" } as const;

/**
 * A rule on the bus. Patterns use only `source`, `detail-type` and `detail`: SST's Bus
 * subscription keeps only those keys.
 */
export interface BusRule {
  name: string;
  pattern: { source?: readonly string[]; "detail-type"?: readonly string[] };
  handler: string;
}

export const busRules = [
  // Every event as one structured log line: the audit trail of an order or a SKU, searchable in
  // CloudWatch Logs Insights, and a live subscriber that proves the bus delivers.
  {
    name: "event-log",
    pattern: { source: [bus.source] },
    handler: "packages/functions/src/bus/event-log.handler",
  },
] as const satisfies readonly BusRule[];

export interface Schedule {
  name: string;
  handler: string;
  /** EventBridge Scheduler / CloudWatch rate expression, for the cloud. */
  rate: string;
  /** How often the local runtime runs it. */
  localEverySeconds: number;
}

export const schedules = [
  {
    name: "outbox-relay",
    handler: "packages/functions/src/schedule/outbox-relay.handler",
    rate: "rate(1 minute)",
    localEverySeconds: 3,
  },
] as const satisfies readonly Schedule[];

export const topology = { routes, queues, bus, busRules, schedules } as const;
export type Topology = typeof topology;
