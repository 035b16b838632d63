import { randomUUID } from "node:crypto";
import { purgeIdempotencyKeys } from "@flashstock/core/checkout/index";
import type { DomainEvent } from "@flashstock/core/events/index";
import {
  type EventPublisher,
  purgeEventRecords,
  relayOutbox,
} from "@flashstock/core/events/outbox";
import { countRows, useDatabase } from "@flashstock/testing/database";
import { createUser } from "@flashstock/testing/fixtures";
import { beforeEach, describe, expect, it } from "vitest";

const t = useDatabase();

/** Outbox rows written `ageSeconds` ago, as a crashed request would have left them. */
async function unpublished(count: number, ageSeconds = 60): Promise<string[]> {
  const { rows } = await t.db.query<{ id: string }>(
    `INSERT INTO outbox (type, data, occurred_at)
     SELECT 'inventory.low', jsonb_build_object('sku', 'RELAY-' || g, 'available', 1, 'minQuantity', 2, 'orderId', NULL),
            clock_timestamp() - make_interval(secs => $2)
       FROM generate_series(1, $1) g
     RETURNING id`,
    [count, ageSeconds],
  );
  return rows.map((r) => r.id);
}

/** A publisher that records what it was given and takes a moment, so that two relays overlap. */
function recordingPublisher(delayMs = 20) {
  const published: string[] = [];
  const publisher: EventPublisher = {
    publish: async (events: readonly DomainEvent[]) => {
      await new Promise((r) => setTimeout(r, delayMs));
      published.push(...events.map((e) => e.id));
      return { failed: [] };
    },
  };
  return { publisher, published };
}

beforeEach(async () => {
  await t.db.query("DELETE FROM outbox");
});

describe("the outbox relay", () => {
  it("publishes every unpublished event exactly once when two relays run at the same moment", async () => {
    // Prepare
    const ids = await unpublished(250);
    const { publisher, published } = recordingPublisher();

    // Act
    await Promise.all([
      relayOutbox(t.db, publisher, { batchSize: 20 }),
      relayOutbox(t.db, publisher, { batchSize: 20 }),
    ]);

    // Assess
    expect(published.toSorted()).toEqual(ids.toSorted());
    expect(await countRows(t.db, "outbox WHERE published_at IS NULL")).toBe(0);
  });

  it("publishes oldest first", async () => {
    // Prepare
    const older = await unpublished(3, 120);
    const newer = await unpublished(3, 60);
    const { publisher, published } = recordingPublisher(0);

    // Act
    await relayOutbox(t.db, publisher, { batchSize: 2 });

    // Assess
    expect(published).toEqual([...older, ...newer]);
  });

  it("leaves events younger than olderThanSeconds to the request that wrote them", async () => {
    // Prepare
    const old = await unpublished(2, 60);
    const fresh = await unpublished(2, 0);
    const { publisher, published } = recordingPublisher(0);

    // Act
    const report = await relayOutbox(t.db, publisher, { olderThanSeconds: 5 });

    // Assess
    expect(report.published).toBe(2);
    expect(published).toEqual(old);
    expect(
      await countRows(t.db, "outbox WHERE published_at IS NULL AND id = ANY($1::uuid[])", [fresh]),
    ).toBe(2);
  });

  it("keeps what could not be published, with the attempt and the reason, and stops the run", async () => {
    // Prepare
    await unpublished(30);
    let calls = 0;
    const down: EventPublisher = {
      publish: async (events) => {
        calls++;
        return { failed: events.map((e) => ({ id: e.id, error: "ThrottlingException" })) };
      },
    };

    // Act
    const report = await relayOutbox(t.db, down, { batchSize: 10 });

    // Assess
    expect(calls).toBe(1);
    expect(report.failed).toHaveLength(10);
    expect(
      await countRows(
        t.db,
        "outbox WHERE publish_attempts = 1 AND last_error = 'ThrottlingException'",
      ),
    ).toBe(10);
    expect(await countRows(t.db, "outbox WHERE published_at IS NULL")).toBe(30);
  });
});

describe("retention", () => {
  it("purges published events after 7 days and consumer records after 30, and nothing younger or unpublished", async () => {
    // Prepare
    await t.db.query(
      `INSERT INTO outbox (type, data, published_at) VALUES
         ('order.placed', '{}', now() - interval '8 days'),
         ('order.placed', '{}', now() - interval '6 days'),
         ('order.placed', '{}', NULL)`,
    );
    await t.db.query(
      `INSERT INTO processed_events (consumer, event_id, processed_at) VALUES
         ('stock-alerts', $1, now() - interval '31 days'),
         ('stock-alerts', $2, now() - interval '29 days')`,
      [randomUUID(), randomUUID()],
    );

    // Act
    const purged = await purgeEventRecords(t.db);

    // Assess
    expect(purged).toEqual({ outbox: 1, processedEvents: 1 });
    expect(await countRows(t.db, "outbox")).toBe(2);
    expect(
      await countRows(t.db, "processed_events WHERE processed_at < now() - interval '30 days'"),
    ).toBe(0);
  });

  it("purges idempotency keys after 24 hours, and keeps younger ones", async () => {
    // Prepare
    const customer = await createUser(t.db);
    await t.db.query(
      `INSERT INTO idempotency_keys (customer_id, key, request_hash, status_code, response, created_at) VALUES
         ($1, 'old', 'h', 201, '{}', now() - interval '25 hours'),
         ($1, 'new', 'h', 201, '{}', now() - interval '23 hours')`,
      [customer.id],
    );

    // Act
    const purged = await purgeIdempotencyKeys(t.db);

    // Assess
    expect(purged).toBe(1);
    const { rows } = await t.db.query<{ key: string }>(
      "SELECT key FROM idempotency_keys WHERE customer_id = $1",
      [customer.id],
    );
    expect(rows).toEqual([{ key: "new" }]);
  });
});
