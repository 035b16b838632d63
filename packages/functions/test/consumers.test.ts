import type { DomainEvent } from "@flashstock/core/events/index";
import { lambdaContext } from "@flashstock/testing/api";
import { countRows, orderStatus, outboxEvents, useDatabase } from "@flashstock/testing/database";
import { sqsBatch, useEventSystem } from "@flashstock/testing/events";
import { cartWith, checkout, createTestProduct, createUser } from "@flashstock/testing/fixtures";
import { beforeAll, describe, expect, it } from "vitest";
import { handler as orderEvents } from "../src/queue/order-events.ts";
import { handler as stockAlerts } from "../src/queue/stock-alerts.ts";

const t = useDatabase();
const events = useEventSystem();

// These tests hand the consumers their messages themselves: checkout's own publishing would put
// copies in the local queues, so it reports every event as not published (they stay in the outbox).
beforeAll(() => {
  events.setPublisher({
    publish: async (batch) => ({
      failed: batch.map((e) => ({ id: e.id, error: "off in this file" })),
    }),
  });
});

/** A placed order and its order.placed event, as the outbox holds it; nothing delivered yet. */
async function placedOrder() {
  const buyer = await createUser(t.db);
  const product = await createTestProduct(t.db);
  const r = await checkout(buyer, await cartWith(buyer, { [product.sku]: 1 }));
  const [event] = await outboxEvents(t.db, "order.placed", "orderId", r.body.id);
  return { buyer, orderId: r.body.id as string, event: event as DomainEvent };
}

/** A low-stock crossing and its inventory.low event. */
async function lowStockEvent() {
  const product = await createTestProduct(t.db, { available: 2, minQuantity: 2 });
  const buyer = await createUser(t.db);
  await checkout(buyer, await cartWith(buyer, { [product.sku]: 1 }));
  const [event] = await outboxEvents(t.db, "inventory.low", "sku", product.sku);
  return { sku: product.sku, event: event as DomainEvent };
}

const statusOf = (id: string) => orderStatus(t.db, id);

describe("queue consumers: batches, order and redelivery", () => {
  it("stops a message group at its first failure and goes on with the other groups", async () => {
    // Prepare: group A holds a poison message followed by a good one; group B one good message
    const a = await placedOrder();
    const b = await placedOrder();
    const batch = sqsBatch([
      { group: a.buyer.id, body: "{not json" },
      { group: a.buyer.id, body: a.event },
      { group: b.buyer.id, body: b.event },
    ]);
    const [poison, behindPoison] = batch.Records;

    // Act
    const response = await orderEvents(batch, lambdaContext("order-events"));

    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      poison?.messageId,
      behindPoison?.messageId,
    ]);
    expect(await statusOf(a.orderId)).toBe("placed");
    expect(await statusOf(b.orderId)).toBe("confirmed");
  });

  it("does nothing twice when a message is redelivered after SQS's deduplication window", async () => {
    // Prepare
    const { buyer, orderId, event } = await placedOrder();
    const first = await orderEvents(
      sqsBatch([{ group: buyer.id, body: event }]),
      lambdaContext("c"),
    );

    // Act
    const again = await orderEvents(
      sqsBatch([{ group: buyer.id, body: event }]),
      lambdaContext("c"),
    );

    // Assess
    expect(first.batchItemFailures).toEqual([]);
    expect(again.batchItemFailures).toEqual([]);
    expect(await statusOf(orderId)).toBe("confirmed");
    expect(await events.inbox(buyer.email)).toHaveLength(1);
    expect(
      await countRows(t.db, "outbox WHERE type = 'order.confirmed' AND data->>'orderId' = $1", [
        orderId,
      ]),
    ).toBe(1);
  });

  it("sends one low-stock email for two deliveries of the same event processed at the same moment", async () => {
    // Prepare
    const { sku, event } = await lowStockEvent();

    // Act
    const results = await Promise.all(
      [1, 2].map(() => stockAlerts(sqsBatch([{ group: sku, body: event }]), lambdaContext("s"))),
    );

    // Assess
    expect(results.map((r) => r.batchItemFailures)).toEqual([[], []]);
    const mail = (await events.inbox(events.stockManager)).filter((m) => m.subject.includes(sku));
    expect(mail).toHaveLength(1);
  });

  it("records nothing when the email cannot be sent, so the redelivery sends it", async () => {
    // Prepare: SES unreachable
    const { sku, event } = await lowStockEvent();
    const endpoint = process.env.SES_ENDPOINT;
    const { resetEmailSender } = await import("../src/lib/resources.ts");
    process.env.SES_ENDPOINT = "http://127.0.0.1:9";
    resetEmailSender();
    let failed: Awaited<ReturnType<typeof stockAlerts>>;
    try {
      failed = await stockAlerts(sqsBatch([{ group: sku, body: event }]), lambdaContext("s"));
    } catch (err) {
      // Powertools throws when every record of the batch failed: Lambda then retries it all.
      failed = { batchItemFailures: [{ itemIdentifier: String(err) }] };
    } finally {
      process.env.SES_ENDPOINT = endpoint;
      resetEmailSender();
    }
    const recorded = await countRows(t.db, "processed_events WHERE event_id = $1", [event.id]);

    // Act
    const redelivered = await stockAlerts(
      sqsBatch([{ group: sku, body: event }]),
      lambdaContext("s"),
    );

    // Assess
    expect(failed.batchItemFailures).toHaveLength(1);
    expect(recorded).toBe(0);
    expect(redelivered.batchItemFailures).toEqual([]);
    const mail = (await events.inbox(events.stockManager)).filter((m) => m.subject.includes(sku));
    expect(mail).toHaveLength(1);
  });

  it("moves a poison message after 5 receives to the dead-letter queue, with the message received behind it, in order; the group then takes new messages", async () => {
    // Prepare
    const { buyer, orderId, event } = await placedOrder();
    const queue = events.system.queues["order-events"];
    const send = (id: string, body: string) =>
      queue?.send({ messageGroupId: buyer.id, messageDeduplicationId: id, body });
    send("poison-1", "{not json");
    send("behind-poison", JSON.stringify(event));

    // Act
    await events.drain();
    const statusAfterPoison = await statusOf(orderId);
    send("after-redrive", JSON.stringify(event));
    await events.drain();

    // Assess: SQS counts a receive for every message of the batch, so the one skipped behind the
    // poison reaches maxReceiveCount with it. Both wait in the DLQ, in order, for a redrive.
    expect(queue?.deadLetters()).toEqual([
      { body: "{not json", messageGroupId: buyer.id, receiveCount: 5 },
      { body: JSON.stringify(event), messageGroupId: buyer.id, receiveCount: 5 },
    ]);
    expect(statusAfterPoison).toBe("placed");
    expect(await statusOf(orderId)).toBe("confirmed");
  });
});
