import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { DomainEvent } from "@flashstock/core/events/index";
import { runCollectingEvents } from "@flashstock/core/events/outbox";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { logger, publishNow } from "./resources.ts";

/**
 * Builds an SQS FIFO consumer: Powertools' FIFO batch processor reports failures per message, and
 * with skipGroupOnError the first failure in a message group fails the rest of that group in the
 * batch (so their order is kept on redelivery) while other groups go on. Each message is parsed as a
 * domain event; one that is not one fails, is redelivered and ends in the dead-letter queue, where
 * its alarm is. Events the handling commits (order.confirmed) are published right after.
 */
export function consumer(handle: (event: DomainEvent) => Promise<void>) {
  const processor = new SqsFifoPartialProcessorAsync();
  const recordHandler = async (record: SQSRecord) => {
    const event = DomainEvent.parse(JSON.parse(record.body));
    logger.appendKeys({ eventId: event.id, eventType: event.type });
    try {
      await runCollectingEvents(() => handle(event), publishNow);
    } finally {
      logger.removeKeys(["eventId", "eventType"]);
    }
  };
  return (
    middy<SQSEvent, SQSBatchResponse, Error, Context>()
      // Messages carry addresses and emails: never logged, whatever POWERTOOLS_LOGGER_LOG_EVENT says.
      .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
      .handler((event, context) =>
        processPartialResponse(event, recordHandler, processor, {
          context,
          skipGroupOnError: true,
        }),
      )
  );
}
