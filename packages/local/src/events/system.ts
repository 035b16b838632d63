/**
 * The cloud's event plumbing, in process: the outbox publisher feeds a LocalBus and one
 * LocalFifoQueue per topology queue, pollers hand queue batches to the consumer handlers as the
 * Lambda SQS event source does, and timers run the schedules. Everything is built from
 * infra/topology.ts, so local and cloud route the same events to the same handlers.
 *
 * Each queue's consumer runs with a concurrency of one: one batch in flight per queue at a time.
 * In the cloud the event source may run one batch per message group at once; here one at a time
 * keeps local runs easy to follow, and per-group order holds either way.
 */
import { randomUUID } from "node:crypto";
import type { EventPublisher, PublishOutcome } from "@flashstock/core/events/outbox";
import { busEntryFor, queueMessagesFor } from "@flashstock/functions/events/routing";
import { withGrants } from "@flashstock/functions/lib/grants";
import type { Context, ScheduledEvent, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { Need } from "../../../../infra/topology.ts";
import {
  type BusRule,
  topology as defaultTopology,
  type FifoQueue,
  type Schedule,
} from "../../../../infra/topology.ts";
import { loadHandler as loadTopologyHandler } from "../dispatch.ts";
import { lambdaContext } from "../event.ts";
import { eventTime, LocalBus } from "./bus.ts";
import { LocalFifoQueue } from "./fifo-queue.ts";

/** The part of the topology the event system reads; `topology` from infra/topology.ts is one. */
export interface EventTopology {
  queues: readonly FifoQueue[];
  busRules: readonly BusRule[];
  schedules: readonly Schedule[];
}

/** Any Lambda handler: each call site knows which event it passes. */
export type LambdaHandler = (event: never, context: Context) => unknown;
export type HandlerLoader = (name: string) => Promise<LambdaHandler>;

export interface LocalEventSystemOptions {
  topology?: EventTopology;
  loadHandler?: HandlerLoader;
  /** Overrides every queue's visibilityTimeoutSeconds, so that tests see redeliveries quickly. */
  visibilityTimeoutMs?: number;
  /** How long an idle queue poller waits before receiving again. */
  pollIntervalMs?: number;
  /** Where failures of consumers and schedules are reported; stderr by default. */
  log?: (message: string, err?: unknown) => void;
}

export interface LocalEventSystem {
  publisher: EventPublisher;
  queues: Record<string, LocalFifoQueue>;
  bus: LocalBus;
  /** Starts the queue pollers and the schedules. The bus needs neither: it pushes, started or not. */
  start(): void;
  /** Stops pollers and timers, and waits for the batches, runs and deliveries under way. */
  stop(): Promise<void>;
  /**
   * Resolves once every queue is empty (messages waiting out a visibility timeout included) and
   * the bus is idle; receives itself when not started. Rejects after `timeoutMs` (10 s).
   */
  drain(options?: { timeoutMs?: number }): Promise<void>;
  /** Runs a schedule's handler now, after any run of it still under way; rejects if it throws. */
  runSchedule(name: string): Promise<void>;
}

const logToStderr = (message: string, err?: unknown) =>
  console.error(`[local events] ${message}`, ...(err === undefined ? [] : [err]));

export function createLocalEventSystem(options: LocalEventSystemOptions = {}): LocalEventSystem {
  const topology = options.topology ?? defaultTopology;
  const loadHandler = options.loadHandler ?? loadTopologyHandler;
  const pollIntervalMs = options.pollIntervalMs ?? 50;
  const log = options.log ?? logToStderr;

  /** As Lambda would, with only the settings and permissions the topology grants the handler. */
  async function invoke<E>(
    handlerName: string,
    needs: readonly Need[],
    event: E,
  ): Promise<unknown> {
    const handler = (await loadHandler(handlerName)) as (event: E, context: Context) => unknown;
    return withGrants(handlerName, needs, () =>
      handler(event, lambdaContext(handlerName.replace(/\W+/g, "-"))),
    );
  }

  const queues: Record<string, LocalFifoQueue> = {};
  for (const q of topology.queues) {
    queues[q.name] = new LocalFifoQueue({
      name: q.name,
      visibilityTimeoutMs: options.visibilityTimeoutMs ?? q.visibilityTimeoutSeconds * 1000,
      maxReceiveCount: q.maxReceiveCount,
      onDeadLetter: (letter) =>
        log(
          `${q.name}: a message of group ${letter.messageGroupId} moved to the dead-letter queue after ${letter.receiveCount} receives`,
        ),
    });
  }

  const bus = new LocalBus({
    rules: topology.busRules.map((rule) => ({
      name: rule.name,
      pattern: rule.pattern,
      target: async (event) => {
        await invoke(rule.handler, rule.needs, event);
      },
    })),
  });

  const publisher: EventPublisher = {
    async publish(events) {
      const failed: PublishOutcome["failed"] = [];
      for (const event of events) {
        try {
          // Everything is worked out before anything is sent: a bad event goes nowhere rather
          // than to the bus but not its queue.
          const entry = busEntryFor(event, "local");
          const messages = queueMessagesFor(event, topology.queues);
          bus.put([entry]);
          for (const message of messages) queues[message.queue]?.send(message);
        } catch (err) {
          failed.push({ id: event.id, error: err instanceof Error ? err.message : String(err) });
        }
      }
      return { failed };
    },
  };

  /** Per queue, the batch its consumer is working on. */
  const batches = new Map<string, Promise<void>>();
  /** Per schedule, the run under way; it never rejects, so that the next run can chain on it. */
  const runs = new Map<string, Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  /** Ends the pending sleeps early: for stop(), or when a batch completes during drain(). */
  const wakers = new Set<() => void>();
  const pollers: Promise<void>[] = [];
  let started = false;
  // Lets a poller or schedule of an earlier start() tell that it is over, even after a restart.
  let generation = 0;

  function sleep(ms: number, until?: Promise<unknown>): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
      until?.then(wake, wake);
    });
  }

  /** Hands the consumer one batch, unless one is in flight. Undefined when nothing is visible. */
  function pump(q: FifoQueue): Promise<void> | undefined {
    const current = batches.get(q.name);
    if (current) return current;
    const queue = queues[q.name] as LocalFifoQueue;
    const records = queue.receive(q.consumer.batchSize);
    if (records.length === 0) return undefined;
    const batch = consume(q, queue, records).finally(() => batches.delete(q.name));
    batches.set(q.name, batch);
    return batch;
  }

  /** What the Lambda event source does with a consumer's answer; messages left stay in the queue. */
  async function consume(q: FifoQueue, queue: LocalFifoQueue, records: SQSRecord[]) {
    let failed: Set<string>;
    try {
      const event: SQSEvent = { Records: records };
      const response = (await invoke(q.consumer.handler, q.consumer.needs, event)) as
        | Partial<SQSBatchResponse>
        | undefined;
      failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (err) {
      // Powertools throws when every record failed; all of them are then received again.
      log(`${q.name}: ${q.consumer.handler} failed the whole batch of ${records.length}`, err);
      return;
    }
    const ids = new Set(records.map((r) => r.messageId));
    if ([...failed].some((id) => !ids.has(id))) {
      // Lambda treats an identifier that names no message of the batch as a failed batch.
      log(`${q.name}: batchItemFailures names a message not in the batch; all are kept`);
      return;
    }
    for (const record of records) {
      if (!failed.has(record.messageId)) queue.delete(record.receiptHandle);
    }
  }

  const scheduledEvent = (s: Schedule): ScheduledEvent => ({
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "000000000000",
    time: eventTime(),
    region: "local",
    resources: [`arn:aws:events:local:000000000000:rule/${s.name}`],
    detail: {},
  });

  function run(s: Schedule): Promise<void> {
    const previous = runs.get(s.name) ?? Promise.resolve();
    const result = previous
      .then(() => invoke(s.handler, s.needs, scheduledEvent(s)))
      .then(() => {});
    const settled = result.catch(() => {});
    runs.set(s.name, settled);
    void settled.then(() => {
      if (runs.get(s.name) === settled) runs.delete(s.name);
    });
    return result;
  }

  function pending(): string[] {
    const left: string[] = [];
    for (const [name, queue] of Object.entries(queues)) {
      const { visible, inFlight } = queue.depth();
      if (visible + inFlight > 0) left.push(`${name}: ${visible} visible, ${inFlight} in flight`);
    }
    if (bus.pending > 0) left.push(`bus: ${bus.pending} deliveries`);
    for (const name of runs.keys()) left.push(`schedule ${name}: running`);
    return left;
  }

  return {
    publisher,
    queues,
    bus,

    start() {
      if (started) return;
      started = true;
      const mine = ++generation;
      const live = () => started && generation === mine;

      for (const q of topology.queues) {
        pollers.push(
          (async () => {
            while (live()) await (pump(q) ?? sleep(pollIntervalMs));
          })(),
        );
      }

      // The next run is timed from the end of the previous one, so runs never overlap.
      const every = (s: Schedule) => {
        const timer = setTimeout(async () => {
          timers.delete(timer);
          await run(s).catch((err) => log(`schedule ${s.name}: ${s.handler} failed`, err));
          if (live()) every(s);
        }, s.localEverySeconds * 1000);
        timers.add(timer);
      };
      for (const s of topology.schedules) every(s);
    },

    async stop() {
      started = false;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const wake of wakers) wake();
      await Promise.all(pollers.splice(0));
      await Promise.all([...batches.values(), ...runs.values()]);
      await bus.idle();
    },

    async drain({ timeoutMs = 10_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!started) for (const q of topology.queues) pump(q);
        const left = pending();
        if (left.length === 0) return;
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          throw new Error(`drain: still pending after ${timeoutMs} ms: ${left.join("; ")}`);
        }
        const inFlight = [...batches.values()];
        await sleep(
          Math.min(pollIntervalMs, remaining),
          inFlight.length > 0 ? Promise.race(inFlight) : undefined,
        );
      }
    },

    runSchedule(name) {
      const schedule = topology.schedules.find((s) => s.name === name);
      return schedule ? run(schedule) : Promise.reject(new Error(`No schedule named ${name}`));
    },
  };
}
