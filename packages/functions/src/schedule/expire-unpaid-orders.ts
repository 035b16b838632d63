import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { runCollectingEvents } from "@flashstock/core/events/outbox";
import { expireUnpaidOrders } from "@flashstock/core/payment/card";
import middy from "@middy/core";
import type { Context, ScheduledEvent } from "aws-lambda";
import { paymentWindowMinutes } from "../lib/config.ts";
import { db, logger, publishNow } from "../lib/resources.ts";

/**
 * Every minute in the cloud (every few seconds locally): card orders left unpaid for
 * PAYMENT_WINDOW_MINUTES are cancelled, their stock goes back on sale, and `order.cancelled` has
 * their payment cancelled at Stripe and their customer told.
 */
export const handler = middy<ScheduledEvent, unknown, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .handler(async () => {
    const expired = await runCollectingEvents(
      () => expireUnpaidOrders(db(), { olderThanMinutes: paymentWindowMinutes() }),
      publishNow,
    );
    if (expired.length > 0) logger.info("unpaid card orders cancelled", { orders: expired });
    return { expired: expired.length };
  });
