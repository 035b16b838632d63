import type { DomainEvent, EventType } from "@flashstock/core/events/index";
import {
  bus,
  type EventField,
  type FifoQueue,
  queues as topologyQueues,
} from "../../../../infra/topology.ts";

/** One message for one FIFO queue, as SendMessage(Batch) takes it. */
export interface QueueMessage {
  /** The queue's name in the topology (`order-events`), not its URL. */
  queue: string;
  messageGroupId: string;
  messageDeduplicationId: string;
  /** The whole event as JSON, so that consumers see exactly what the bus sees. */
  body: string;
}

/** One entry of EventBridge PutEvents. */
export interface BusEntry {
  Source: string;
  DetailType: EventType;
  Detail: string;
  EventBusName: string;
}

function field(event: DomainEvent, path: EventField): string {
  const value = path === "id" ? event.id : event.data[path.slice("data.".length)];
  if (typeof value !== "string" || value === "") {
    throw new Error(`Event ${event.id} (${event.type}) has no string ${path}`);
  }
  return value;
}

/** The queues (in practice at most one) that take this event type, per the topology. */
export function queuesFor(type: EventType, queues: readonly FifoQueue[] = topologyQueues) {
  return queues.filter((q) => q.events.includes(type));
}

/**
 * The queue messages for an event: group and deduplication ids come from the topology, so the
 * cloud adapter and the local queues cannot disagree about them.
 */
export function queueMessagesFor(
  event: DomainEvent,
  queues: readonly FifoQueue[] = topologyQueues,
): QueueMessage[] {
  return queuesFor(event.type, queues).map((q) => ({
    queue: q.name,
    messageGroupId: field(event, q.messageGroupId),
    messageDeduplicationId: field(
      event,
      q.deduplicationId[event.type] ?? q.deduplicationId.default,
    ),
    body: JSON.stringify(event),
  }));
}

/** The bus entry for an event: source `flashstock`, detail-type = the event type, detail = the event. */
export const busEntryFor = (event: DomainEvent, busName: string): BusEntry => ({
  Source: bus.source,
  DetailType: event.type,
  Detail: JSON.stringify(event),
  EventBusName: busName,
});
