import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { DomainEvent } from "@flashstock/core/events/index";
import middy from "@middy/core";
import type { Context, EventBridgeEvent } from "aws-lambda";
import { logger } from "../lib/logger.ts";

/**
 * Every event on the bus as one structured log line: the audit trail of an order or a SKU, to be
 * searched in CloudWatch Logs Insights (e.g. `filter event.data.orderId = "..."`). Ids, types,
 * statuses, SKUs and amounts only: logs are read by more people, and kept longer, than orders,
 * so a shipping address, an email, a note or a token never reaches them.
 */
export const handler = middy<EventBridgeEvent<string, DomainEvent>, void, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .handler(async (event) => {
    logger.info("event", { event: auditRecord(event.detail) });
  });

/** The fields of an event's data that may be logged; everything else is left out. */
const loggable = new Set([
  "orderId",
  "customerId",
  "sku",
  "status",
  "reason",
  "available",
  "minQuantity",
  "totalCents",
  "currency",
  "paymentMethod",
  "paymentStatus",
  "refundedCents",
  "amountCents",
  "promotionCode",
  "discountCents",
  "fingerprint",
  "cancelledBy",
  "releasedBy",
  "carrier",
  "trackingNumber",
]);

export function auditRecord(event: DomainEvent) {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const kept = Object.fromEntries(Object.entries(data).filter(([key]) => loggable.has(key)));
  const lines = Array.isArray(data.lines)
    ? (data.lines as { sku?: unknown; quantity?: unknown }[]).map((l) => ({
        sku: l.sku,
        quantity: l.quantity,
      }))
    : undefined;
  return {
    id: event.id,
    type: event.type,
    occurredAt: event.occurredAt,
    data: lines ? { ...kept, lines } : kept,
  };
}
