import { createHash, randomUUID } from "node:crypto";
import type { SQSRecord } from "aws-lambda";

/** SQS caps ReceiveMessage, and so a Lambda batch from a FIFO queue, at 10 messages. */
const MAX_BATCH = 10;

export interface LocalFifoQueueOptions {
  /** The topology name; the queue is `<name>.fifo`. */
  name: string;
  visibilityTimeoutMs: number;
  /** After this many receives the next would-be receive moves the message to the DLQ instead. */
  maxReceiveCount: number;
  /** SQS's is fixed at 5 minutes. */
  deduplicationWindowMs?: number;
  /** For tests that move time by hand. */
  now?: () => number;
  /** Told of every message moved to the dead-letter queue. */
  onDeadLetter?: (letter: DeadLetter) => void;
}

export interface OutgoingMessage {
  messageGroupId: string;
  messageDeduplicationId: string;
  body: string;
}

export interface DeadLetter {
  body: string;
  messageGroupId: string;
  receiveCount: number;
}

export interface QueueDepth {
  /** Not in flight, including those waiting behind an in-flight message of their group. */
  visible: number;
  /** Received, not deleted, visibility timeout not yet expired. */
  inFlight: number;
  deadLetters: number;
}

interface Message {
  messageId: string;
  groupId: string;
  deduplicationId: string;
  body: string;
  md5OfBody: string;
  sequenceNumber: string;
  sentAt: number;
  receiveCount: number;
  firstReceivedAt: number;
  /** Replaced at every receive, so that a consumer holding an older one cannot delete it. */
  receiptHandle: string | undefined;
  invisibleUntil: number;
}

/**
 * One SQS FIFO queue and its dead-letter queue, in memory, with the semantics the consumers rely
 * on: per-group order, a group blocked while one of its messages is in flight, deduplication
 * within a window, redelivery after the visibility timeout, and redrive to the DLQ.
 */
export class LocalFifoQueue {
  readonly name: string;
  readonly arn: string;
  private readonly visibilityTimeoutMs: number;
  private readonly maxReceiveCount: number;
  private readonly deduplicationWindowMs: number;
  private readonly now: () => number;
  private readonly onDeadLetter: ((letter: DeadLetter) => void) | undefined;
  /** In send order, which is each group's delivery order. */
  private readonly messages: Message[] = [];
  /** Insertion order is expiry order, so pruning stops at the first live entry. */
  private readonly seen = new Map<string, { messageId: string; expiresAt: number }>();
  private readonly dlq: DeadLetter[] = [];
  private sequence = 0;

  constructor(options: LocalFifoQueueOptions) {
    this.name = options.name;
    this.arn = `arn:aws:sqs:local:000000000000:${options.name}.fifo`;
    this.visibilityTimeoutMs = options.visibilityTimeoutMs;
    this.maxReceiveCount = options.maxReceiveCount;
    this.deduplicationWindowMs = options.deduplicationWindowMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    this.onDeadLetter = options.onDeadLetter;
  }

  /** A deduplication id seen within the window succeeds, as in SQS, but is not enqueued again. */
  send(message: OutgoingMessage): { messageId: string; duplicate: boolean } {
    const now = this.now();
    for (const [id, entry] of this.seen) {
      if (entry.expiresAt > now) break;
      this.seen.delete(id);
    }
    const earlier = this.seen.get(message.messageDeduplicationId);
    if (earlier) return { messageId: earlier.messageId, duplicate: true };

    const messageId = randomUUID();
    this.seen.set(message.messageDeduplicationId, {
      messageId,
      expiresAt: now + this.deduplicationWindowMs,
    });
    this.messages.push({
      messageId,
      groupId: message.messageGroupId,
      deduplicationId: message.messageDeduplicationId,
      body: message.body,
      md5OfBody: createHash("md5").update(message.body).digest("hex"),
      sequenceNumber: String(++this.sequence).padStart(20, "0"),
      sentAt: now,
      receiveCount: 0,
      firstReceivedAt: 0,
      receiptHandle: undefined,
      invisibleUntil: 0,
    });
    return { messageId, duplicate: false };
  }

  /**
   * Up to `max` (at most 10) messages, oldest first. A group with a message in flight yields
   * nothing; otherwise a batch may take several of a group's messages, consecutive and in order.
   */
  receive(max = MAX_BATCH): SQSRecord[] {
    const now = this.now();
    const limit = Math.min(max, MAX_BATCH);
    const blocked = new Set(
      this.messages.filter((m) => this.isInFlight(m, now)).map((m) => m.groupId),
    );
    const batch: SQSRecord[] = [];
    for (let i = 0; i < this.messages.length && batch.length < limit; ) {
      const message = this.messages[i] as Message;
      if (blocked.has(message.groupId)) {
        i++;
      } else if (message.receiveCount >= this.maxReceiveCount) {
        // SQS's redrive: the message goes to the DLQ instead of being received, and its group
        // moves on to the next message.
        this.messages.splice(i, 1);
        const letter = {
          body: message.body,
          messageGroupId: message.groupId,
          receiveCount: message.receiveCount,
        };
        this.dlq.push(letter);
        this.onDeadLetter?.(letter);
      } else {
        message.receiveCount++;
        if (message.receiveCount === 1) message.firstReceivedAt = now;
        message.receiptHandle = randomUUID();
        message.invisibleUntil = now + this.visibilityTimeoutMs;
        batch.push(this.record(message));
        i++;
      }
    }
    return batch;
  }

  /** Returns false for a stale receipt handle (the message was received again since): ignored. */
  delete(receiptHandle: string): boolean {
    const i = this.messages.findIndex((m) => m.receiptHandle === receiptHandle);
    if (i < 0) return false;
    this.messages.splice(i, 1);
    return true;
  }

  depth(): QueueDepth {
    const now = this.now();
    const inFlight = this.messages.filter((m) => this.isInFlight(m, now)).length;
    return { visible: this.messages.length - inFlight, inFlight, deadLetters: this.dlq.length };
  }

  deadLetters(): DeadLetter[] {
    return [...this.dlq];
  }

  private isInFlight(message: Message, now: number): boolean {
    return message.receiptHandle !== undefined && message.invisibleUntil > now;
  }

  private record(message: Message): SQSRecord {
    return {
      messageId: message.messageId,
      receiptHandle: message.receiptHandle as string,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: "000000000000",
        ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
        MessageGroupId: message.groupId,
        MessageDeduplicationId: message.deduplicationId,
        SequenceNumber: message.sequenceNumber,
      },
      messageAttributes: {},
      md5OfBody: message.md5OfBody,
      eventSource: "aws:sqs",
      eventSourceARN: this.arn,
      awsRegion: "local",
    };
  }
}
