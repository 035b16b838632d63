/**
 * The local runtime's stand-ins for SQS FIFO and EventBridge, held to the semantics the consumers
 * rely on in the cloud, and the event system that wires them to handlers. No AWS, no database:
 * handlers here are plain functions.
 */
import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { DomainEvent } from "@flashstock/core/events/index";
import type { BusEntry } from "@flashstock/functions/events/routing";
import type { ScheduledEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type BusEvent, LocalBus } from "../src/events/bus.ts";
import { LocalFifoQueue } from "../src/events/fifo-queue.ts";
import {
  createLocalEventSystem,
  type EventTopology,
  type LambdaHandler,
} from "../src/events/system.ts";

beforeEach(() => {
  // Failures are logged on purpose in several tests; keep the output readable.
  vi.spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});

function queueWithClock(options: { visibilityTimeoutMs?: number; maxReceiveCount?: number } = {}) {
  const clock = { now: 1_700_000_000_000 };
  const queue = new LocalFifoQueue({
    name: "test",
    visibilityTimeoutMs: options.visibilityTimeoutMs ?? 30_000,
    maxReceiveCount: options.maxReceiveCount ?? 3,
    now: () => clock.now,
  });
  return { queue, clock };
}

const message = (group: string, body: string, dedup: string = randomUUID()) => ({
  messageGroupId: group,
  messageDeduplicationId: dedup,
  body,
});

const bodies = (records: { body: string }[]) => records.map((r) => r.body);

describe("LocalFifoQueue", () => {
  it("keeps each group's send order and lets other groups through while one is blocked", () => {
    // Prepare
    const { queue } = queueWithClock();
    queue.send(message("a", "a1"));
    queue.send(message("a", "a2"));
    queue.send(message("b", "b1"));
    queue.send(message("b", "b2"));

    // Act
    const first = queue.receive(1);
    const whileABlocked = queue.receive(10);
    const nothingMore = queue.receive(10);
    for (const r of [...first, ...whileABlocked]) queue.delete(r.receiptHandle);
    const afterDelete = queue.receive(10);

    // Assess
    expect(bodies(first)).toEqual(["a1"]);
    expect(bodies(whileABlocked)).toEqual(["b1", "b2"]);
    expect(nothingMore).toEqual([]);
    expect(bodies(afterDelete)).toEqual(["a2"]);
  });

  it("accepts a deduplication id seen within the window without enqueuing it, and enqueues it after", () => {
    // Prepare
    const { queue, clock } = queueWithClock();
    const original = queue.send(message("a", "first", "same-id"));

    // Act
    clock.now += 4 * 60_000;
    const withinWindow = queue.send(message("a", "second", "same-id"));
    clock.now += 60_000 + 1;
    const afterWindow = queue.send(message("a", "third", "same-id"));

    // Assess
    expect(original.duplicate).toBe(false);
    expect(withinWindow).toEqual({ messageId: original.messageId, duplicate: true });
    expect(afterWindow.duplicate).toBe(false);
    expect(bodies(queue.receive(10))).toEqual(["first", "third"]);
  });

  it("redelivers a message not deleted once its visibility timeout expires, with its receive count incremented", () => {
    // Prepare
    const { queue, clock } = queueWithClock({ visibilityTimeoutMs: 30_000 });
    queue.send(message("a", "a1"));
    const [first] = queue.receive();

    // Act
    clock.now += 29_999;
    const beforeTimeout = queue.receive();
    const depthBefore = queue.depth();
    clock.now += 1;
    const [again] = queue.receive();

    // Assess
    expect(beforeTimeout).toEqual([]);
    expect(depthBefore).toEqual({ visible: 0, inFlight: 1, deadLetters: 0 });
    expect(again?.messageId).toBe(first?.messageId);
    expect(first?.attributes.ApproximateReceiveCount).toBe("1");
    expect(again?.attributes.ApproximateReceiveCount).toBe("2");
    expect(again?.attributes.ApproximateFirstReceiveTimestamp).toBe(
      first?.attributes.ApproximateFirstReceiveTimestamp,
    );
    expect(again?.receiptHandle).not.toBe(first?.receiptHandle);
  });

  it("moves a message to the dead-letter queue after maxReceiveCount receives, and its group moves on", () => {
    // Prepare
    const { queue, clock } = queueWithClock({ visibilityTimeoutMs: 1000, maxReceiveCount: 2 });
    queue.send(message("a", "poison"));
    queue.send(message("a", "next"));
    const firstReceive = queue.receive(1);
    clock.now += 1000;
    const secondReceive = queue.receive(1);
    clock.now += 1000;

    // Act
    const afterRedrive = queue.receive(10);

    // Assess
    expect([bodies(firstReceive), bodies(secondReceive)]).toEqual([["poison"], ["poison"]]);
    expect(bodies(afterRedrive)).toEqual(["next"]);
    expect(queue.deadLetters()).toEqual([{ body: "poison", messageGroupId: "a", receiveCount: 2 }]);
    expect(queue.depth()).toEqual({ visible: 0, inFlight: 1, deadLetters: 1 });
  });

  it("never returns more than 10 messages, and a group's messages come consecutive and in order", () => {
    // Prepare
    const { queue } = queueWithClock();
    for (let i = 1; i <= 8; i++) queue.send(message("a", `a${i}`));
    for (let i = 1; i <= 8; i++) queue.send(message("b", `b${i}`));

    // Act
    const batch = queue.receive(25);

    // Assess
    expect(batch).toHaveLength(10);
    expect(bodies(batch)).toEqual(["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "b1", "b2"]);
    expect(bodies(queue.receive(10))).toEqual([]);
  });

  it("ignores a stale receipt handle from before a redelivery", () => {
    // Prepare
    const { queue, clock } = queueWithClock({ visibilityTimeoutMs: 1000 });
    queue.send(message("a", "a1"));
    const [stale] = queue.receive();
    clock.now += 1000;
    const [current] = queue.receive();

    // Act
    const staleDeleted = queue.delete(stale?.receiptHandle as string);
    const depthAfterStale = queue.depth();
    const currentDeleted = queue.delete(current?.receiptHandle as string);

    // Assess
    expect(staleDeleted).toBe(false);
    expect(depthAfterStale).toEqual({ visible: 0, inFlight: 1, deadLetters: 0 });
    expect(currentDeleted).toBe(true);
    expect(queue.depth()).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
  });

  it("shapes records as the Lambda SQS event source does", () => {
    // Prepare
    const { queue, clock } = queueWithClock();
    queue.send(message("g", '{"x":1}', "dedup-1"));

    // Act
    const [record] = queue.receive();

    // Assess
    expect(record).toMatchObject({
      body: '{"x":1}',
      messageAttributes: {},
      md5OfBody: createHash("md5").update('{"x":1}').digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:local:000000000000:test.fifo",
      awsRegion: "local",
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: String(clock.now),
        ApproximateFirstReceiveTimestamp: String(clock.now),
        MessageGroupId: "g",
        MessageDeduplicationId: "dedup-1",
        SenderId: expect.any(String),
        SequenceNumber: expect.stringMatching(/^\d{20}$/),
      },
    });
  });
});

const entry = (source: string, detailType: string): BusEntry =>
  ({
    Source: source,
    DetailType: detailType,
    Detail: JSON.stringify({ type: detailType }),
    EventBusName: "local",
  }) as BusEntry;

describe("LocalBus", () => {
  it("delivers an entry only to the rules whose source and detail-type match, after put returns", async () => {
    // Prepare
    const seen: Record<string, BusEvent[]> = { all: [], orders: [], other: [] };
    const bus = new LocalBus({
      rules: [
        {
          name: "all",
          pattern: { source: ["flashstock"] },
          target: async (e) => void seen.all?.push(e),
        },
        {
          name: "orders",
          pattern: { source: ["flashstock"], "detail-type": ["order.placed", "order.held"] },
          target: async (e) => void seen.orders?.push(e),
        },
        {
          name: "other",
          pattern: { source: ["elsewhere"] },
          target: async (e) => void seen.other?.push(e),
        },
      ],
    });

    // Act
    bus.put([entry("flashstock", "order.placed"), entry("flashstock", "inventory.low")]);
    const deliveredDuringPut = seen.all?.length;
    await bus.idle();

    // Assess
    expect(deliveredDuringPut).toBe(0);
    expect(seen.all?.map((e) => e["detail-type"])).toEqual(["order.placed", "inventory.low"]);
    expect(seen.orders?.map((e) => e["detail-type"])).toEqual(["order.placed"]);
    expect(seen.other).toEqual([]);
    expect(seen.orders?.[0]).toMatchObject({
      version: "0",
      source: "flashstock",
      account: "000000000000",
      region: "local",
      resources: [],
      detail: { type: "order.placed" },
    });
    expect(seen.orders?.[0]?.id).toBe(seen.all?.[0]?.id);
  });

  it("retries a throwing target with backoff until it succeeds, and never throws at the publisher", async () => {
    // Prepare
    const attempts: BusEvent[] = [];
    const bus = new LocalBus({
      retryDelayMs: 5,
      rules: [
        {
          name: "flaky",
          pattern: {},
          target: async (e) => {
            attempts.push(e);
            if (attempts.length < 3) throw new Error("not yet");
          },
        },
      ],
    });

    // Act
    expect(() => bus.put([entry("flashstock", "order.placed")])).not.toThrow();
    await bus.idle();

    // Assess
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((e) => e.id)).size).toBe(1);
    expect(bus.pending).toBe(0);
  });

  it("gives up on a target that keeps throwing after its retries, and logs it", async () => {
    // Prepare
    let attempts = 0;
    const bus = new LocalBus({
      retries: 2,
      retryDelayMs: 1,
      rules: [
        {
          name: "broken",
          pattern: {},
          target: async () => {
            attempts++;
            throw new Error("down");
          },
        },
      ],
    });

    // Act
    bus.put([entry("flashstock", "order.placed")]);
    await bus.idle();

    // Assess
    expect(attempts).toBe(3);
    expect(console.error).toHaveBeenLastCalledWith(
      expect.stringContaining("giving up"),
      expect.any(Error),
    );
  });
});

const CONSUMER = "test/consumer.handler";
const EVENT_LOG = "test/event-log.handler";
const TICK = "test/tick.handler";

const testTopology = (maxReceiveCount = 5, localEverySeconds = 3600) =>
  ({
    queues: [
      {
        name: "alerts",
        events: ["inventory.low"],
        messageGroupId: "data.sku",
        deduplicationId: { default: "id" },
        consumer: { handler: CONSUMER, batchSize: 10, needs: [] },
        visibilityTimeoutSeconds: 60,
        maxReceiveCount,
      },
    ],
    busRules: [
      { name: "event-log", pattern: { source: ["flashstock"] }, handler: EVENT_LOG, needs: [] },
    ],
    schedules: [
      { name: "tick", handler: TICK, rate: "rate(1 minute)", localEverySeconds, needs: [] },
    ],
  }) satisfies EventTopology;

const lowStock = (sku: string): DomainEvent => ({
  id: randomUUID(),
  type: "inventory.low",
  occurredAt: new Date().toISOString(),
  data: { sku, available: 1, minQuantity: 5, orderId: null },
});

type Consumer = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

/** A system whose handlers are plain functions, recording what reaches them. */
function systemWith(
  consumer: Consumer,
  options: {
    maxReceiveCount?: number;
    localEverySeconds?: number;
    tick?: () => Promise<void>;
  } = {},
) {
  const batches: SQSEvent[] = [];
  const logged: BusEvent[] = [];
  const ticks: ScheduledEvent[] = [];
  const handlers: Record<string, LambdaHandler> = {
    [CONSUMER]: async (event: SQSEvent) => {
      batches.push(structuredClone(event));
      return consumer(event);
    },
    [EVENT_LOG]: async (event: BusEvent) => void logged.push(event),
    [TICK]: async (event: ScheduledEvent) => {
      ticks.push(event);
      await options.tick?.();
    },
  };
  const system = createLocalEventSystem({
    topology: testTopology(options.maxReceiveCount, options.localEverySeconds),
    loadHandler: async (name) => {
      const handler = handlers[name];
      if (!handler) throw new Error(`no handler ${name}`);
      return handler;
    },
    visibilityTimeoutMs: 50,
    pollIntervalMs: 10,
  });
  return { system, batches, logged, ticks, alerts: system.queues.alerts as LocalFifoQueue };
}

const skuOf = (body: string) => (JSON.parse(body) as DomainEvent).data.sku;

describe("createLocalEventSystem", () => {
  it("drain resolves once every message is consumed and every event delivered to the bus", async () => {
    // Prepare
    const { system, batches, logged, alerts } = systemWith(async () => ({ batchItemFailures: [] }));
    const events = Array.from({ length: 25 }, (_, i) => lowStock(`SKU-${i % 7}`));

    // Act
    const outcome = await system.publisher.publish(events);
    await system.drain();

    // Assess
    expect(outcome).toEqual({ failed: [] });
    const consumed = batches.flatMap((b) => b.Records.map((r) => JSON.parse(r.body).id));
    expect(consumed.sort()).toEqual(events.map((e) => e.id).sort());
    expect(batches.every((b) => b.Records.length <= 10)).toBe(true);
    expect(logged.map((e) => (e.detail as DomainEvent).id).sort()).toEqual(
      events.map((e) => e.id).sort(),
    );
    expect(alerts.depth()).toEqual({ visible: 0, inFlight: 0, deadLetters: 0 });
  });

  it("redelivers only the messages a consumer reports in batchItemFailures", async () => {
    // Prepare
    const { system, batches } = systemWith(async (event) => ({
      batchItemFailures: event.Records.filter(
        (r) => skuOf(r.body) === "B" && r.attributes.ApproximateReceiveCount === "1",
      ).map((r) => ({ itemIdentifier: r.messageId })),
    }));
    await system.publisher.publish([lowStock("A"), lowStock("B"), lowStock("C")]);

    // Act
    await system.drain();

    // Assess
    expect(batches.map((b) => b.Records.map((r) => skuOf(r.body)))).toEqual([
      ["A", "B", "C"],
      ["B"],
    ]);
    expect(batches[1]?.Records[0]?.messageId).toBe(batches[0]?.Records[1]?.messageId);
    expect(batches[1]?.Records[0]?.attributes.ApproximateReceiveCount).toBe("2");
  });

  it("redelivers the whole batch when the consumer throws", async () => {
    // Prepare
    let calls = 0;
    const { system, batches } = systemWith(async () => {
      if (++calls === 1) throw new Error("every record failed");
      return { batchItemFailures: [] };
    });
    await system.publisher.publish([lowStock("A"), lowStock("B")]);

    // Act
    await system.drain();

    // Assess
    expect(batches).toHaveLength(2);
    const ids = batches.map((b) => b.Records.map((r) => r.messageId));
    expect(ids[1]).toEqual(ids[0]);
    expect(batches[1]?.Records.map((r) => r.attributes.ApproximateReceiveCount)).toEqual([
      "2",
      "2",
    ]);
  });

  it("moves a message that always fails to the dead-letter queue, after which drain resolves", async () => {
    // Prepare
    const { system, batches, alerts } = systemWith(
      async () => {
        throw new Error("poison");
      },
      { maxReceiveCount: 3 },
    );
    await system.publisher.publish([lowStock("A")]);

    // Act
    await system.drain();

    // Assess
    expect(batches).toHaveLength(3);
    expect(alerts.deadLetters()).toEqual([
      expect.objectContaining({ messageGroupId: "A", receiveCount: 3 }),
    ]);
  });

  it("drain rejects after its timeout, naming what is still pending", async () => {
    // Prepare
    const { system } = systemWith(
      async () => {
        throw new Error("still failing");
      },
      { maxReceiveCount: 1000 },
    );
    await system.publisher.publish([lowStock("A")]);

    // Act
    const drained = system.drain({ timeoutMs: 200 });

    // Assess
    await expect(drained).rejects.toThrow(
      /still pending after 200 ms: alerts: \d visible, \d in flight/,
    );
  });

  it("reports an event it cannot route as failed instead of throwing, and sends it nowhere", async () => {
    // Prepare
    const { system, alerts } = systemWith(async () => ({ batchItemFailures: [] }));
    const good = lowStock("A");
    const bad: DomainEvent = { ...lowStock("B"), data: { available: 1 } };

    // Act
    const outcome = await system.publisher.publish([good, bad]);
    await system.bus.idle();

    // Assess
    expect(outcome.failed).toEqual([{ id: bad.id, error: expect.stringContaining("data.sku") }]);
    expect(alerts.depth().visible).toBe(1);
  });

  it("once started, consumes in the background and runs schedules without overlapping runs", async () => {
    // Prepare
    let running = 0;
    let mostAtOnce = 0;
    const { system, batches, ticks } = systemWith(async () => ({ batchItemFailures: [] }), {
      localEverySeconds: 0.01,
      tick: async () => {
        mostAtOnce = Math.max(mostAtOnce, ++running);
        await sleep(30);
        running--;
      },
    });

    // Act
    system.start();
    await system.publisher.publish([lowStock("A")]);
    await system.drain();
    const manual = system.runSchedule("tick");
    await sleep(150);
    await manual;
    await system.stop();

    // Assess
    expect(batches).toHaveLength(1);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(mostAtOnce).toBe(1);
    expect(ticks[0]).toMatchObject({ "detail-type": "Scheduled Event", source: "aws.events" });
  });

  it("stop resolves, after which no poller or schedule calls a handler", async () => {
    // Prepare
    const { system, batches, ticks, alerts } = systemWith(async () => ({ batchItemFailures: [] }), {
      localEverySeconds: 0.01,
    });
    system.start();
    await sleep(50);

    // Act
    await system.stop();
    const ticksAtStop = ticks.length;
    await system.publisher.publish([lowStock("A")]);
    await sleep(100);

    // Assess
    expect(ticksAtStop).toBeGreaterThan(0);
    expect(ticks).toHaveLength(ticksAtStop);
    expect(batches).toHaveLength(0);
    expect(alerts.depth().visible).toBe(1);
  });
});
