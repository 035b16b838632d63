import { AsyncLocalStorage } from "node:async_hooks";
import { batched, perKey } from "../db/coalesce.ts";
import { observeCommits } from "../db/index.ts";
import type { Db, Queryable } from "../db/types.ts";
import type { DomainEvent } from "./index.ts";

/**
 * Where events go after commit. In the cloud an adapter sends them to EventBridge and the SQS FIFO
 * queues; locally the same interface feeds the in-process bus and queues. The core knows neither.
 */
export interface EventPublisher {
  /** Publishes every event it can; the ones it could not are returned, never thrown. */
  publish(events: readonly DomainEvent[]): Promise<PublishOutcome>;
}
export interface PublishOutcome {
  failed: { id: string; error: string }[];
}

// The events committed during one request or one consumed message, gathered without threading a
// list through every core function. A transaction reads its own unpublished outbox rows (one index
// lookup on their transaction id) just before COMMIT, and they are collected once it has
// committed: by the observer below for every db.transaction, and by checkout for place_order,
// which is one statement in autocommit (no "before COMMIT" to hook into) and returns its events.
const committed = new AsyncLocalStorage<DomainEvent[]>();

/** Hands events whose transaction has committed to the request or message that committed them. */
export function collectCommittedEvents(events: readonly DomainEvent[]): void {
  if (events.length > 0) committed.getStore()?.push(...events);
}

observeCommits({
  beforeCommit: async (tx) => {
    if (committed.getStore() === undefined) return undefined;
    const { rows } = await tx.query<{ events: DomainEvent[] }>(
      "SELECT events_of_current_transaction() AS events",
    );
    const events = rows[0]?.events ?? [];
    return () => collectCommittedEvents(events);
  },
});

/**
 * Runs `work`, then hands every event its transactions committed to `afterwards`, also when
 * `work` fails after a commit (a committed event is a fact, whatever happened next).
 */
export async function runCollectingEvents<T>(
  work: () => Promise<T>,
  afterwards: (events: DomainEvent[]) => Promise<void>,
): Promise<T> {
  const events: DomainEvent[] = [];
  try {
    return await committed.run(events, work);
  } finally {
    if (events.length > 0) await afterwards(events);
  }
}

export interface PublishReport {
  published: number;
  failed: { id: string; error: string }[];
}

const markPublished = (db: Queryable, ids: string[]) =>
  db.query(
    "UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::uuid[]) AND published_at IS NULL",
    [ids],
  );

// The fast path's marks, one UPDATE for all the requests that published meanwhile.
const batchedMarks = perKey((db: Queryable) =>
  batched(async (ids: string[]) => {
    await markPublished(db, ids);
  }),
);

/** Marks what was published, and counts the attempt and the reason for what was not. */
async function record(
  db: Queryable,
  ids: string[],
  outcome: PublishOutcome,
  options: { batch?: boolean } = {},
): Promise<void> {
  const failed = new Map(outcome.failed.map((f) => [f.id, f.error]));
  const published = ids.filter((id) => !failed.has(id));
  if (published.length > 0) {
    if (options.batch) await batchedMarks(db)(published);
    else await markPublished(db, published);
  }
  if (failed.size > 0) {
    await db.query(
      `UPDATE outbox o SET publish_attempts = o.publish_attempts + 1, last_error = f.error
         FROM unnest($1::uuid[], $2::text[]) AS f(id, error)
        WHERE o.id = f.id AND o.published_at IS NULL`,
      [[...failed.keys()], [...failed.values()].map((e) => e.slice(0, 1000))],
    );
  }
}

/** A publisher that throws has published nothing: every event is reported failed. */
async function tryPublish(
  publisher: EventPublisher,
  events: readonly DomainEvent[],
): Promise<PublishOutcome> {
  try {
    return await publisher.publish(events);
  } catch (err) {
    return { failed: events.map((e) => ({ id: e.id, error: String(err) })) };
  }
}

/**
 * The fast path: publishes events right after their transaction committed and marks them
 * published. It never throws: an event it could not publish (or could not mark) stays in the
 * outbox for the relay, and publishing it twice is fine because everything downstream is idempotent.
 */
export async function publishCommitted(
  db: Queryable,
  publisher: EventPublisher,
  events: readonly DomainEvent[],
): Promise<PublishReport> {
  if (events.length === 0) return { published: 0, failed: [] };
  const outcome = await tryPublish(publisher, events);
  try {
    await record(
      db,
      events.map((e) => e.id),
      outcome,
      { batch: true },
    );
  } catch {
    // The events went out but are not marked: the relay sends them again, consumers dedupe.
  }
  return { published: events.length - outcome.failed.length, failed: outcome.failed };
}

export interface RelayOptions {
  /** Events per batch (and per transaction). */
  batchSize?: number;
  /**
   * Leave events younger than this to the fast path of the request that wrote them, so that the
   * relay does not publish them a second time while that request is still marking them.
   */
  olderThanSeconds?: number;
  /** Stop after this many batches; the next run continues. */
  maxBatches?: number;
}

/**
 * The safety net: publishes whatever is still unpublished, oldest first, in batches. Each batch is
 * locked with SKIP LOCKED, so two relays (two schedules overlapping, or a relay and a test) never
 * publish the same batch at once. A batch in which nothing could be published ends the run: the
 * destination is down, and the next run retries.
 */
export async function relayOutbox(
  db: Db,
  publisher: EventPublisher,
  options: RelayOptions = {},
): Promise<PublishReport> {
  const batchSize = options.batchSize ?? 100;
  const olderThan = options.olderThanSeconds ?? 0;
  const maxBatches = options.maxBatches ?? 50;
  const report: PublishReport = { published: 0, failed: [] };
  for (let batch = 0; batch < maxBatches; batch++) {
    const { count, outcome } = await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ event: DomainEvent }>(
        `SELECT outbox_event(o) AS event FROM outbox o
          WHERE o.published_at IS NULL AND o.occurred_at <= clock_timestamp() - make_interval(secs => $2)
          ORDER BY o.seq
          LIMIT $1
          FOR UPDATE SKIP LOCKED`,
        [batchSize, olderThan],
      );
      const events = rows.map((r) => r.event);
      if (events.length === 0) return { count: 0, outcome: { failed: [] } };
      const result = await tryPublish(publisher, events);
      await record(
        tx,
        events.map((e) => e.id),
        result,
      );
      return { count: events.length, outcome: result };
    });
    report.published += count - outcome.failed.length;
    report.failed.push(...outcome.failed);
    if (count < batchSize || outcome.failed.length === count) break;
  }
  return report;
}

export interface RetentionOptions {
  /** Published events are kept this long for inspection and replay. */
  publishedEventDays?: number;
  /**
   * A consumer's record of an event must outlive every redelivery: SQS keeps a message at most
   * 14 days, so 30 days leaves a margin.
   */
  processedEventDays?: number;
  /** Rows deleted per table per run, so that one run never holds long locks. */
  limit?: number;
}

/** Deletes published outbox rows and consumer records past their retention. */
export async function purgeEventRecords(
  db: Queryable,
  options: RetentionOptions = {},
): Promise<{ outbox: number; processedEvents: number }> {
  const limit = options.limit ?? 10_000;
  const outbox = await db.query(
    `DELETE FROM outbox WHERE seq IN (
       SELECT seq FROM outbox
        WHERE published_at < now() - make_interval(days => $1)
        LIMIT $2)`,
    [options.publishedEventDays ?? 7, limit],
  );
  const processed = await db.query(
    `DELETE FROM processed_events WHERE (consumer, event_id) IN (
       SELECT consumer, event_id FROM processed_events
        WHERE processed_at < now() - make_interval(days => $1)
        LIMIT $2)`,
    [options.processedEventDays ?? 30, limit],
  );
  return { outbox: outbox.rowCount ?? 0, processedEvents: processed.rowCount ?? 0 };
}

/**
 * Runs a consumer's effect at most once per event: the consumer's record of the event is inserted
 * in the same transaction as the effect, so a redelivery finds it and skips, and a failed effect
 * rolls the record back so the redelivery tries again. A concurrent duplicate delivery waits on
 * the uncommitted record and then skips.
 *
 * Side effects outside the database (an email) run inside the transaction, last: if sending fails,
 * nothing is recorded. The one window left is a crash after the email was accepted and before
 * COMMIT, which sends that email again on redelivery; no email API offers an idempotency key that
 * would close it.
 */
export async function processOnce<T>(
  db: Db,
  consumer: string,
  eventId: string,
  effect: (tx: Queryable) => Promise<T>,
): Promise<{ processed: true; result: T } | { processed: false }> {
  return db.transaction(async (tx) => {
    const { rowCount } = await tx.query(
      "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
      [consumer, eventId],
    );
    if (rowCount === 0) return { processed: false };
    return { processed: true, result: await effect(tx) };
  });
}
