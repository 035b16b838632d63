import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DomainEvent } from "@flashstock/core/events/index";
import type { EventPublisher } from "@flashstock/core/events/outbox";
import { queues } from "../../../../infra/topology.ts";
import { queueUrlVariable } from "../lib/config.ts";
import { busEntryFor, type QueueMessage, queueMessagesFor } from "./routing.ts";

export interface AwsPublisherOptions {
  eventBridge: EventBridgeClient;
  sqs: SQSClient;
  busName: string;
  /** By topology queue name (`order-events`), not by URL. */
  queueUrls: Record<string, string>;
}

type Queued = { eventId: string; message: QueueMessage };

/** PutEvents and SendMessageBatch both take at most 10 entries. */
const BATCH_LIMIT = 10;

function chunks<T>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH_LIMIT) result.push(items.slice(i, i + BATCH_LIMIT));
  return result;
}

const describeError = (err: unknown) =>
  err instanceof Error ? `${err.name} ${err.message}` : String(err);

/**
 * Publishes to the EventBridge bus and to the SQS FIFO queues of the topology. An event counts as
 * published only when the bus and each of its queues accepted it; everything else is reported as
 * failed (the outbox keeps it for the relay, and consumers dedupe what went out twice).
 */
export function createAwsPublisher(options: AwsPublisherOptions): EventPublisher {
  const { eventBridge, sqs, busName, queueUrls } = options;
  // Fail at start-up rather than on the first event of that queue.
  for (const queue of queues) {
    if (!queueUrls[queue.name]) {
      throw new Error(`No URL for queue ${queue.name}: set ${queueUrlVariable(queue.name)}`);
    }
  }

  return {
    async publish(events) {
      // Dynamic, so that a bundle imports the SDK only when it publishes (see resources.ts).
      const [{ PutEventsCommand }, { SendMessageBatchCommand }] = await Promise.all([
        import("@aws-sdk/client-eventbridge"),
        import("@aws-sdk/client-sqs"),
      ]);
      const errors = new Map<string, string[]>();
      const fail = (id: string, error: string) =>
        errors.set(id, [...(errors.get(id) ?? []), error]);

      const routed: DomainEvent[] = [];
      const byQueue = new Map<string, Queued[]>();
      for (const event of events) {
        let messages: QueueMessage[];
        try {
          messages = queueMessagesFor(event);
        } catch (err) {
          // One malformed event must not hold back the others. It goes nowhere, not even to the
          // bus, so that the relay's retries do not put it on the bus again and again.
          fail(event.id, `routing: ${describeError(err)}`);
          continue;
        }
        routed.push(event);
        for (const message of messages) {
          const list = byQueue.get(message.queue) ?? [];
          list.push({ eventId: event.id, message });
          byQueue.set(message.queue, list);
        }
      }

      // The bus keeps no order, so its chunks can go out all at once.
      const toBus = async (chunk: DomainEvent[]) => {
        try {
          const { Entries = [] } = await eventBridge.send(
            new PutEventsCommand({ Entries: chunk.map((e) => busEntryFor(e, busName)) }),
          );
          // The response has one entry per request entry, in the same order.
          chunk.forEach((event, i) => {
            const entry = Entries[i];
            if (entry?.ErrorCode) {
              fail(event.id, `eventbridge: ${entry.ErrorCode} ${entry.ErrorMessage ?? ""}`.trim());
            }
          });
        } catch (err) {
          for (const event of chunk) fail(event.id, `eventbridge: ${describeError(err)}`);
        }
      };

      // A FIFO queue keeps a group's order within a batch and across batches only if each batch
      // is sent after the previous one was accepted. Once a group has lost a message here, its
      // messages in later batches are held back (reported failed, so the relay resends them after
      // it, in outbox order) instead of overtaking it. Within one batch SQS may already have taken
      // the entries after a failed one; consumers check the order's state, so that is harmless.
      const toQueue = async (queue: string, items: Queued[]) => {
        const brokenGroups = new Set<string>();
        for (const chunk of chunks(items)) {
          const sending: Queued[] = [];
          for (const item of chunk) {
            if (brokenGroups.has(item.message.messageGroupId)) {
              fail(item.eventId, `sqs ${queue}: held back behind an earlier failure in its group`);
            } else sending.push(item);
          }
          if (sending.length === 0) continue;
          try {
            const { Failed = [] } = await sqs.send(
              new SendMessageBatchCommand({
                QueueUrl: queueUrls[queue],
                Entries: sending.map(({ message }, i) => ({
                  Id: `m${i}`,
                  MessageBody: message.body,
                  MessageGroupId: message.messageGroupId,
                  MessageDeduplicationId: message.messageDeduplicationId,
                })),
              }),
            );
            for (const entry of Failed) {
              const item = sending.find((_, i) => `m${i}` === entry.Id);
              if (item) {
                fail(item.eventId, `sqs ${queue}: ${entry.Code} ${entry.Message ?? ""}`.trim());
                brokenGroups.add(item.message.messageGroupId);
              }
            }
          } catch (err) {
            for (const item of sending) {
              fail(item.eventId, `sqs ${queue}: ${describeError(err)}`);
              brokenGroups.add(item.message.messageGroupId);
            }
          }
        }
      };

      await Promise.all([
        ...chunks(routed).map(toBus),
        ...[...byQueue].map(([queue, items]) => toQueue(queue, items)),
      ]);
      // In the order of the events, whichever destination answered first.
      const failed = [...new Set(events.map((e) => e.id))].flatMap((id) => {
        const list = errors.get(id);
        return list ? [{ id, error: list.join("; ") }] : [];
      });
      return { failed };
    },
  };
}
