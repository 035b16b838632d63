import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { purgeIdempotencyKeys } from "@flashstock/core/checkout/index";
import { purgeEventRecords, relayOutbox } from "@flashstock/core/events/outbox";
import middy from "@middy/core";
import type { Context, ScheduledEvent } from "aws-lambda";
import { config } from "../lib/config.ts";
import { db, eventPublisher, logger } from "../lib/resources.ts";

/**
 * Every minute in the cloud (every few seconds locally): publishes what the requests' fast path did
 * not (a crash between commit and publish, a destination that was down), oldest first, then purges
 * what has outlived its purpose.
 */
export const handler = middy<ScheduledEvent, unknown, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .handler(async () => {
    const relayed = await relayOutbox(db(), eventPublisher(), {
      olderThanSeconds: config().relayMinAgeSeconds,
    });
    const purged = {
      idempotencyKeys: await purgeIdempotencyKeys(db()),
      ...(await purgeEventRecords(db())),
    };
    const summary = { published: relayed.published, failed: relayed.failed.length, purged };
    (relayed.failed.length > 0 ? logger.warn : logger.debug).call(logger, "outbox relay", summary);
    return summary;
  });
