import { randomBytes } from "node:crypto";
import type { EventPublisher } from "@flashstock/core/events/outbox";
import { resetEmailSender, useEventPublisher } from "@flashstock/functions/lib/resources";
import { LocalFifoQueue } from "@flashstock/local/events/fifo-queue";
import { createLocalEventSystem } from "@flashstock/local/events/system";
import { type StoredEmail, storedEmails } from "@flashstock/local/ses";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, inject } from "vitest";

export type LocalEventSystem = ReturnType<typeof createLocalEventSystem>;

export interface TestEventSystem {
  system: LocalEventSystem;
  /** Recipients unique to this test file, so files sharing the SES emulator never see each other's mail. */
  stockManager: string;
  ops: string;
  /**
   * The publisher the handlers use. Tests may swap it (to inject a failing EventBridge, say) and
   * put the real one back with `restorePublisher`.
   */
  setPublisher(publisher: EventPublisher): void;
  restorePublisher(): void;
  /** Delivers everything queued, waiting out visibility timeouts, until the system is idle. */
  drain(): Promise<void>;
  /** Emails in the SES emulator sent to `to`, oldest first. */
  inbox(to: string): Promise<StoredEmail[]>;
}

/**
 * The local event system (bus, FIFO queues, consumers, relay) for one test file, as `npm start`
 * runs it, sending its emails to the run's SES emulator. Queues are drained by the test (`drain`),
 * not polled, so every test decides when delivery happens. Call at the top level of a test file,
 * after useDatabase().
 */
export function useEventSystem(options: { visibilityTimeoutMs?: number } = {}): TestEventSystem {
  const id = randomBytes(4).toString("hex");
  const stockManager = `stock-${id}@example.com`;
  const ops = `ops-${id}@example.com`;
  const handle = { stockManager, ops } as TestEventSystem;
  beforeAll(() => {
    Object.assign(process.env, {
      SES_ENDPOINT: inject("sesEndpoint"),
      EMAIL_SENDER: "flashstock@example.com",
      STOCK_MANAGER_EMAILS: stockManager,
      ORDER_OPS_EMAILS: ops,
      API_URL: "http://localhost:3000",
      OUTBOX_RELAY_MIN_AGE_SECONDS: "0",
    });
    resetEmailSender();
    const system = createLocalEventSystem({
      visibilityTimeoutMs: options.visibilityTimeoutMs ?? 50,
      // Failures the tests provoke on purpose (poison messages) would flood the output; the
      // tests assert their effects (redeliveries, dead letters) instead.
      log: () => {},
    });
    useEventPublisher(system.publisher);
    Object.assign(handle, {
      system,
      setPublisher: (p: EventPublisher) => useEventPublisher(p),
      restorePublisher: () => useEventPublisher(system.publisher),
      drain: () => system.drain(),
      inbox: (to: string) => storedEmails(inject("sesEndpoint"), to),
    });
  });
  afterAll(async () => {
    await handle.system?.stop();
    useEventPublisher(undefined);
    resetEmailSender();
  });
  return handle;
}

/**
 * An SQS batch as Lambda receives it from a FIFO queue, built by the local queue itself so the
 * records have the real shape. Each message is `{ group, body }`; a body that is not a string is
 * sent as JSON (a DomainEvent, usually).
 */
export function sqsBatch(messages: { group: string; body: unknown }[]): SQSEvent {
  const queue = new LocalFifoQueue({
    name: "test",
    visibilityTimeoutMs: 60_000,
    maxReceiveCount: 5,
  });
  for (const [i, m] of messages.entries()) {
    queue.send({
      messageGroupId: m.group,
      messageDeduplicationId: `m${i}`,
      body: typeof m.body === "string" ? m.body : JSON.stringify(m.body),
    });
  }
  return { Records: queue.receive(10) };
}
