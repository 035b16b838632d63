/**
 * Delivery under faults: EventBridge, SQS and SES failing or throttling, injected at the
 * AWS SDK edge with aws-sdk-client-mock, and a consumer whose process dies halfway through a batch.
 * The promise under test: every committed event is delivered to its consumer effectively once (one
 * email per order confirmation and per stock crossing), nothing is lost, and a message group's
 * effects happen in the group's order.
 *
 * The publisher is the real AWS adapter (createAwsPublisher) over mocked EventBridge and SQS clients
 * whose accepted messages go on into the local FIFO queues, which feed the real consumer handlers,
 * which send through the real SES adapter.
 */
import { randomUUID } from "node:crypto";
import {
  EventBridgeClient,
  EventBridgeServiceException,
  PutEventsCommand,
  type PutEventsCommandInput,
} from "@aws-sdk/client-eventbridge";
import {
  SESv2Client,
  SendEmailCommand,
  type SendEmailCommandInput,
  TooManyRequestsException,
} from "@aws-sdk/client-sesv2";
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
  SQSServiceException,
} from "@aws-sdk/client-sqs";
import type { DomainEvent } from "@flashstock/core/events/index";
import { loadHandler } from "@flashstock/local/dispatch";
import { createLocalEventSystem, type LambdaHandler } from "@flashstock/local/events/system";
import { call } from "@flashstock/testing/api";
import {
  countRows,
  expectLedgerConsistent,
  orderStatus,
  useDatabase,
} from "@flashstock/testing/database";
import { useEventSystem } from "@flashstock/testing/events";
import {
  address,
  cartWith,
  checkout,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { reportScenario } from "@flashstock/testing/scenario";
import type { SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAwsPublisher } from "../src/events/aws.ts";
import { resetEmailSender } from "../src/lib/resources.ts";

const t = useDatabase();
const events = useEventSystem();

const DRAIN = { timeoutMs: 60_000 };
const clientOptions = {
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
};
const QUEUE_URLS = {
  "order-events": "https://sqs.us-east-1.amazonaws.com/123456789012/order-events.fifo",
  "stock-alerts": "https://sqs.us-east-1.amazonaws.com/123456789012/stock-alerts.fifo",
  payments: "https://sqs.us-east-1.amazonaws.com/123456789012/payments.fifo",
};

// ---------------------------------------------------------------------------------------------
// AWS at the SDK edge: EventBridge and SQS mocked, their accepted messages fed to the local queues
// ---------------------------------------------------------------------------------------------

const eventBridgeMock = mockClient(EventBridgeClient);
const sqsMock = mockClient(SQSClient);

/** The faults in force, and what the mocked services saw. */
const aws = {
  busDown: false,
  queueDown: false,
  busRefusedCalls: 0,
  queueRefusedCalls: 0,
  /** Event ids EventBridge accepted, as many times as it accepted them. */
  onBus: [] as string[],
};

const throttledBus = () =>
  new EventBridgeServiceException({
    name: "ThrottlingException",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
    message: "Rate exceeded",
  });
const throttledQueue = () =>
  new SQSServiceException({
    name: "RequestThrottled",
    $fault: "client",
    $metadata: { httpStatusCode: 403 },
    message: "Request is throttled.",
  });

function installAwsMocks(): void {
  eventBridgeMock.reset();
  sqsMock.reset();
  Object.assign(aws, {
    busDown: false,
    queueDown: false,
    busRefusedCalls: 0,
    queueRefusedCalls: 0,
    onBus: [],
  });
  eventBridgeMock.on(PutEventsCommand).callsFake(async (input: PutEventsCommandInput) => {
    if (aws.busDown) {
      aws.busRefusedCalls++;
      throw throttledBus();
    }
    const entries = input.Entries ?? [];
    for (const e of entries) aws.onBus.push((JSON.parse(e.Detail ?? "{}") as DomainEvent).id);
    return { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) };
  });
  sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
    if (aws.queueDown) {
      aws.queueRefusedCalls++;
      throw throttledQueue();
    }
    const name = Object.entries(QUEUE_URLS).find(([, url]) => url === input.QueueUrl)?.[0];
    const queue = events.system.queues[name as string];
    if (!queue) throw new Error(`no queue at ${input.QueueUrl}`);
    const entries = input.Entries ?? [];
    for (const e of entries) {
      queue.send({
        messageGroupId: e.MessageGroupId as string,
        messageDeduplicationId: e.MessageDeduplicationId as string,
        body: e.MessageBody as string,
      });
    }
    return {
      Successful: entries.map((e) => ({
        Id: e.Id,
        MessageId: randomUUID(),
        MD5OfMessageBody: "",
      })),
      Failed: [],
    };
  });
  events.setPublisher(
    createAwsPublisher({
      eventBridge: new EventBridgeClient(clientOptions),
      sqs: new SQSClient(clientOptions),
      busName: "flashstock-test-bus",
      queueUrls: QUEUE_URLS,
    }),
  );
}

afterAll(() => {
  eventBridgeMock.restore();
  sqsMock.restore();
});

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Every buyer buys `each` units of the SKU at the same moment; the statuses, buyer by buyer. */
async function flashSale(sku: string, buyers: TestUser[], each = 1): Promise<number[]> {
  const carts = await Promise.all(buyers.map((b) => cartWith(b, { [sku]: each })));
  const results = await Promise.all(buyers.map((b, i) => checkout(b, carts[i] as string)));
  return results.map((r) => r.status);
}

const customers = (n: number) => Promise.all(Array.from({ length: n }, () => createUser(t.db)));

/** The outbox rows of this SKU's sale (its orders' events and its stock events). */
async function outboxOf(sku: string) {
  const { rows } = await t.db.query<{
    id: string;
    type: string;
    published: boolean;
    attempts: number;
    lastError: string | null;
  }>(
    `SELECT o.id, o.type, o.published_at IS NOT NULL AS published,
            o.publish_attempts AS attempts, o.last_error AS "lastError"
       FROM outbox o
      WHERE o.data->>'sku' = $1
         OR o.data->>'orderId' IN (SELECT l.order_id::text FROM order_lines l WHERE l.sku = $1)
      ORDER BY o.seq`,
    [sku],
  );
  return rows;
}

const unpublished = async () => countRows(t.db, "outbox WHERE published_at IS NULL");

/** Runs the relay and delivers everything, until the outbox holds nothing unpublished. */
async function relayUntilEmpty(): Promise<number> {
  let runs = 0;
  do {
    await events.system.runSchedule("outbox-relay");
    await events.system.drain(DRAIN);
    runs++;
  } while ((await unpublished()) > 0 && runs < 10);
  return runs;
}

/** The stock manager's emails about one SKU, oldest first, as subjects. */
async function stockEmails(sku: string): Promise<string[]> {
  return (await events.inbox(events.stockManager))
    .filter((m) => m.subject.includes(`(${sku})`))
    .map((m) => m.subject);
}

const confirmationsTo = async (buyer: TestUser) =>
  (await events.inbox(buyer.email)).filter((m) => /^Your order \w+ is confirmed$/.test(m.subject));

afterEach(async () => {
  events.restorePublisher();
  await expectLedgerConsistent(t.db);
});

// ---------------------------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------------------------

describe("delivery while EventBridge or SQS is failing", () => {
  beforeEach(installAwsMocks);

  it("loses nothing while EventBridge throttles every PutEvents through a flash sale, and the relay delivers each event after recovery with one email each", async () => {
    // Prepare
    const product = await createTestProduct(t.db, {
      name: "Throttled Bus Boot",
      available: 10,
      minQuantity: 4,
    });
    const buyers = await customers(12);
    aws.busDown = true;

    // Act: the sale, the consumers and two relay runs while the bus is down; then recovery
    const statuses = await flashSale(product.sku, buyers);
    await events.system.drain(DRAIN);
    await events.system.runSchedule("outbox-relay");
    await events.system.drain(DRAIN);
    const duringOutage = await outboxOf(product.sku);
    const refused = aws.busRefusedCalls;
    aws.busDown = false;
    const relayRuns = await relayUntilEmpty();

    // Assess
    const sold = statuses.filter((s) => s === 201).length;
    expect(sold).toBe(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(2);
    // Nothing counted as published while the bus refused it, each with its reason kept.
    expect(duringOutage.length).toBeGreaterThanOrEqual(12);
    for (const row of duringOutage) {
      expect(row.published, row.type).toBe(false);
      expect(row.attempts, row.type).toBeGreaterThanOrEqual(1);
      expect(row.lastError, row.type).toContain("ThrottlingException");
    }
    // After recovery every event is published and reached the bus.
    const after = await outboxOf(product.sku);
    expect(after.filter((r) => !r.published)).toEqual([]);
    const onBus = new Set(aws.onBus);
    expect(after.filter((r) => !onBus.has(r.id))).toEqual([]);
    // Exactly one email per confirmation and per crossing, although the queue got every event
    // again from the relay.
    const orders = await t.db.query<{ id: string; status: string }>(
      "SELECT o.id, o.status FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE l.sku = $1",
      [product.sku],
    );
    expect(orders.rows.map((r) => r.status)).toEqual(Array(10).fill("confirmed"));
    const confirmations = await Promise.all(buyers.map(confirmationsTo));
    expect(confirmations.map((m) => m.length).sort()).toEqual([0, 0, ...Array(10).fill(1)]);
    // Sorted: the two crossings were written by two checkouts, each publishing its own after its
    // commit while the queue still took messages, so either may reach the queue first.
    expect((await stockEmails(product.sku)).sort()).toEqual([
      `Low stock: Throttled Bus Boot (${product.sku}) - 3 left, minimum 4`,
      `URGENT - Out of stock: Throttled Bus Boot (${product.sku}) - 0 left, minimum 4`,
    ]);
    reportScenario("EventBridge throttled through a flash sale", {
      injected: `ThrottlingException on every PutEvents (${refused} calls refused) while 12 buyers bought 10 units and the relay ran once`,
      checked: `${duringOutage.length} events all kept unpublished with their error; after recovery ${relayRuns} relay run(s) published all ${after.length}, all on the bus; ${sold} orders confirmed, 10 confirmation emails (one each), 1 low-stock and 1 out-of-stock email`,
    });
  });

  it("delivers nothing while SQS throttles, then everything exactly once and in each group's order when it recovers", async () => {
    // Prepare: one customer buys twice (two orders in one message group), nine others once.
    const product = await createTestProduct(t.db, {
      name: "Queue Outage Kettle",
      available: 11,
      minQuantity: 5,
    });
    const buyers = await customers(9);
    const repeat = buyers[0] as TestUser;
    aws.queueDown = true;

    // Act
    const statuses = await flashSale(product.sku, buyers);
    const second = await checkout(
      repeat,
      await cartWith(repeat, { [product.sku]: 2 }),
      randomUUID(),
      { ...address, line1: "2 Second Street" },
    );
    await events.system.runSchedule("outbox-relay");
    await events.system.drain(DRAIN);
    const emailsDuringOutage =
      (await stockEmails(product.sku)).length +
      (await Promise.all(buyers.map(confirmationsTo))).flat().length;
    const duringOutage = await outboxOf(product.sku);
    const refused = aws.queueRefusedCalls;
    aws.queueDown = false;
    const relayRuns = await relayUntilEmpty();

    // Assess
    expect(statuses).toEqual(Array(9).fill(201));
    expect(second.status).toBe(201);
    expect(emailsDuringOutage).toBe(0);
    expect(
      duringOutage.every((r) => !r.published && r.lastError?.includes("RequestThrottled")),
    ).toBe(true);
    expect((await outboxOf(product.sku)).filter((r) => !r.published)).toEqual([]);
    for (const buyer of buyers.slice(1)) expect(await confirmationsTo(buyer)).toHaveLength(1);
    // The repeat buyer's group: the first order's confirmation, then the second's.
    const { rows: repeatOrders } = await t.db.query<{ id: string }>(
      "SELECT id FROM orders WHERE customer_id = $1 ORDER BY created_at",
      [repeat.id],
    );
    expect((await confirmationsTo(repeat)).map((m) => m.subject)).toEqual(
      repeatOrders.map((o) => `Your order ${o.id.slice(0, 8)} is confirmed`),
    );
    expect(await stockEmails(product.sku)).toEqual([
      `Low stock: Queue Outage Kettle (${product.sku}) - 4 left, minimum 5`,
      `URGENT - Out of stock: Queue Outage Kettle (${product.sku}) - 0 left, minimum 5`,
    ]);
    reportScenario("SQS throttled through a flash sale", {
      injected: `RequestThrottled on every SendMessageBatch (${refused} calls refused) during 10 checkouts and one relay run`,
      checked: `0 emails during the outage, ${duringOutage.length} events kept; after recovery ${relayRuns} relay run(s): 10 confirmations, one each, the repeat buyer's 2 in order; low then out for the SKU, once each`,
    });
  });
});

describe("delivery while SES throttles the consumers", () => {
  it("sends every email exactly once when SES throttles the first attempt of each: the queue redelivers and the consumer's record rolls back", async () => {
    // Prepare: SES refuses the first attempt of every email and accepts the second.
    events.restorePublisher();
    const sesMock = mockClient(SESv2Client);
    const attempts = new Map<string, number>();
    const accepted: { to: string; subject: string }[] = [];
    sesMock.on(SendEmailCommand).callsFake(async (input: SendEmailCommandInput) => {
      const to = input.Destination?.ToAddresses?.join(",") ?? "";
      const subject = input.Content?.Simple?.Subject?.Data ?? "";
      const n = (attempts.get(`${to}|${subject}`) ?? 0) + 1;
      attempts.set(`${to}|${subject}`, n);
      if (n === 1) {
        throw new TooManyRequestsException({
          $metadata: {},
          message: "Maximum sending rate exceeded.",
        });
      }
      accepted.push({ to, subject });
      return { MessageId: randomUUID() };
    });
    resetEmailSender();
    const product = await createTestProduct(t.db, {
      name: "Throttled Mail Mug",
      available: 6,
      minQuantity: 3,
    });
    const buyers = await customers(8);

    // Act
    let statuses: number[];
    try {
      statuses = await flashSale(product.sku, buyers);
      await events.system.drain(DRAIN);
    } finally {
      sesMock.restore();
      resetEmailSender();
    }

    // Assess
    expect(statuses.filter((s) => s === 201)).toHaveLength(6);
    const throttled = attempts.size;
    // Each crossing once; in either order: the low and the out crossing are committed by two
    // concurrent checkouts, and each publishes its own events right after its commit.
    const stock = accepted
      .filter((m) => m.subject.includes(`(${product.sku})`))
      .map((m) => m.subject)
      .sort();
    expect(stock).toEqual([
      `Low stock: Throttled Mail Mug (${product.sku}) - 2 left, minimum 3`,
      `URGENT - Out of stock: Throttled Mail Mug (${product.sku}) - 0 left, minimum 3`,
    ]);
    const perBuyer = buyers.map((b) => accepted.filter((m) => m.to === b.email).length);
    expect(perBuyer.sort()).toEqual([0, 0, 1, 1, 1, 1, 1, 1]);
    // Every email was refused once and accepted once: no more, no fewer.
    expect([...attempts.values()].every((n) => n === 2)).toBe(true);
    expect(accepted).toHaveLength(attempts.size);
    expect(
      await countRows(
        t.db,
        `processed_events p JOIN outbox o ON o.id = p.event_id
          WHERE o.data->>'sku' = $1 AND o.type IN ('inventory.low', 'inventory.out')`,
        [product.sku],
      ),
    ).toBe(2);
    expect(events.system.queues["order-events"]?.deadLetters()).toEqual([]);
    expect(events.system.queues["stock-alerts"]?.deadLetters()).toEqual([]);
    reportScenario("SES throttling the consumers", {
      injected: `TooManyRequestsException on the first attempt of each of ${throttled} emails (6 orders, a low and an out crossing)`,
      checked: `${throttled} refused, then each accepted exactly once on redelivery (${accepted.length} emails: 6 confirmations, a low and an out); 0 dead letters`,
    });
  });
});

describe("a consumer whose process dies halfway through a batch", () => {
  it("sends no email twice and keeps each group's order when every batch is first cut off after half its messages and redelivered whole", async () => {
    // Prepare: a local event system whose consumers die after handling the first half of every
    // batch they see with a message not seen before (as a Lambda that crashes or times out: SQS
    // then redelivers the whole batch after the visibility timeout).
    const seen = new Set<string>();
    const crashes: { queue: string; size: number; handled: number }[] = [];
    const crashing = async (name: string): Promise<LambdaHandler> => {
      const real = (await loadHandler(name)) as unknown as (
        event: SQSEvent,
        context: unknown,
      ) => Promise<unknown>;
      if (!name.includes("/queue/")) return real as unknown as LambdaHandler;
      return (async (event: SQSEvent, context: unknown) => {
        const fresh = event.Records.some((r) => !seen.has(r.messageId));
        for (const r of event.Records) seen.add(r.messageId);
        if (!fresh || event.Records.length < 2) return real(event, context);
        const half = Math.ceil(event.Records.length / 2);
        await real({ Records: event.Records.slice(0, half) }, context);
        crashes.push({ queue: name, size: event.Records.length, handled: half });
        throw new Error("Runtime exited: the process died halfway through the batch");
      }) as unknown as LambdaHandler;
    };
    const system = createLocalEventSystem({
      visibilityTimeoutMs: 50,
      loadHandler: crashing,
      log: () => {},
    });
    events.setPublisher(system.publisher);

    // Three SKUs, each crossing low, out, restocked, low, out: one group of 5 events per SKU.
    // Three customers, each placing three orders: one group of 3 confirmations per customer.
    const manager = await createUser(t.db, "stock_manager");
    const skus = await Promise.all(
      ["A", "B", "C"].map(
        async (n) =>
          (await createTestProduct(t.db, { name: `Crash ${n}`, available: 3, minQuantity: 3 })).sku,
      ),
    );
    const buyers = await customers(3);
    const ordersBy = new Map<string, string[]>(buyers.map((b) => [b.id, []]));
    const buy = async (buyer: TestUser, sku: string, quantity: number) => {
      const r = await checkout(buyer, await cartWith(buyer, { [sku]: quantity }), randomUUID(), {
        ...address,
        line1: `${randomUUID()} Crash Street`,
      });
      expect(r.status).toBe(201);
      ordersBy.get(buyer.id)?.push(r.body.id);
    };
    for (const [i, sku] of skus.entries()) {
      const buyer = buyers[i] as TestUser;
      await buy(buyer, sku, 1); // 2 left: low
      await buy(buyer, sku, 2); // 0 left: out
      const restock = await call("POST", `/inventory/${sku}/adjustments`, {
        token: manager.token,
        body: { delta: 4, reason: "restock" },
      });
      expect(restock.status).toBe(200); // 4: restocked
      await buy(buyer, sku, 4); // 0 left: low and out in one sale
    }

    // Act
    try {
      await system.drain(DRAIN);
      events.restorePublisher();
      await relayUntilEmpty();
    } finally {
      events.restorePublisher();
      await system.stop();
    }

    // Assess
    expect(crashes.length).toBeGreaterThanOrEqual(2);
    for (const [i, sku] of skus.entries()) {
      const name = `Crash ${["A", "B", "C"][i]}`;
      expect(await stockEmails(sku)).toEqual([
        `Low stock: ${name} (${sku}) - 2 left, minimum 3`,
        `URGENT - Out of stock: ${name} (${sku}) - 0 left, minimum 3`,
        `Low stock: ${name} (${sku}) - 0 left, minimum 3`,
        `URGENT - Out of stock: ${name} (${sku}) - 0 left, minimum 3`,
      ]);
    }
    for (const buyer of buyers) {
      expect((await confirmationsTo(buyer)).map((m) => m.subject)).toEqual(
        (ordersBy.get(buyer.id) ?? []).map((id) => `Your order ${id.slice(0, 8)} is confirmed`),
      );
      for (const id of ordersBy.get(buyer.id) ?? [])
        expect(await orderStatus(t.db, id)).toBe("confirmed");
    }
    for (const q of Object.values(system.queues)) expect(q.deadLetters()).toEqual([]);
    const redone = crashes.reduce((n, c) => n + c.handled, 0);
    reportScenario("consumer dying halfway through a batch", {
      injected: `${crashes.length} batches cut off after half their messages (${crashes.map((c) => `${c.handled}/${c.size}`).join(", ")}), each redelivered whole`,
      checked: `${redone} messages handled before a crash came again, none acted on twice: 3 SKUs x 4 stock emails (low, out, low, out in order), 3 customers x 3 confirmations in order placed, 0 dead letters`,
    });
  });
});
