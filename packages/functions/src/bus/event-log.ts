import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { DomainEvent } from "@flashstock/core/events/index";
import middy from "@middy/core";
import type { Context, EventBridgeEvent } from "aws-lambda";
import { logger } from "../lib/resources.ts";

/**
 * Every event on the bus as one structured log line: the audit trail of an order or a SKU, to be
 * searched in CloudWatch Logs Insights (e.g. `filter event.data.orderId = "..."`).
 */
export const handler = middy<EventBridgeEvent<string, DomainEvent>, void, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    logger.info("event", { event: event.detail });
  });
