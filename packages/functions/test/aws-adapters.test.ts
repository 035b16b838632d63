import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import {
  EventBridgeClient,
  EventBridgeServiceException,
  PutEventsCommand,
  type PutEventsCommandInput,
} from "@aws-sdk/client-eventbridge";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { DomainEvent, EventType } from "@flashstock/core/events/index";
import { freePort } from "@flashstock/testing/ports";
import { mockClient } from "aws-sdk-client-mock";
import ses from "aws-ses-v2-local";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSesMailer } from "../src/email/ses.ts";
import { createAwsPublisher } from "../src/events/aws.ts";

const BUS = "flashstock-test-bus";
const QUEUE_URLS = {
  "order-events": "https://sqs.us-east-1.amazonaws.com/123456789012/order-events.fifo",
  "stock-alerts": "https://sqs.us-east-1.amazonaws.com/123456789012/stock-alerts.fifo",
  payments: "https://sqs.us-east-1.amazonaws.com/123456789012/payments.fifo",
};
const clientOptions = {
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
};

function event(type: EventType, data: Record<string, unknown>): DomainEvent {
  return { id: randomUUID(), type, occurredAt: new Date().toISOString(), data };
}
const orderEvent = (type: EventType, customerId: string = randomUUID()) =>
  event(type, { orderId: randomUUID(), customerId, fingerprint: `fp-${randomUUID()}` });

describe("AWS event publisher", () => {
  const eventBridgeMock = mockClient(EventBridgeClient);
  const sqsMock = mockClient(SQSClient);
  const publisher = () =>
    createAwsPublisher({
      eventBridge: new EventBridgeClient(clientOptions),
      sqs: new SQSClient(clientOptions),
      busName: BUS,
      queueUrls: QUEUE_URLS,
    });
  const busCalls = () =>
    eventBridgeMock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);
  const queueCalls = () =>
    sqsMock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);

  beforeEach(() => {
    eventBridgeMock.reset();
    sqsMock.reset();
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  });
  afterAll(() => {
    eventBridgeMock.restore();
    sqsMock.restore();
  });

  it("sends order.placed to the bus and to order-events, grouped by customer, deduplicated by its event id", async () => {
    // Prepare
    const placed = orderEvent("order.placed");

    // Act
    const outcome = await publisher().publish([placed]);

    // Assess
    expect(outcome.failed).toEqual([]);
    expect(busCalls()).toEqual([
      [
        {
          Source: "flashstock",
          DetailType: "order.placed",
          Detail: expect.any(String),
          EventBusName: BUS,
        },
      ],
    ]);
    expect(JSON.parse(busCalls()[0]?.[0]?.Detail ?? "")).toEqual(placed);
    expect(queueCalls()).toEqual([
      {
        QueueUrl: QUEUE_URLS["order-events"],
        Entries: [
          {
            Id: "m0",
            MessageBody: JSON.stringify(placed),
            MessageGroupId: placed.data.customerId,
            MessageDeduplicationId: placed.id,
          },
        ],
      },
    ]);
  });

  it("sends order.cancelled to order-events by customer and to payments by order, each deduplicated by its event id", async () => {
    // Prepare
    const cancelled = orderEvent("order.cancelled");

    // Act
    const outcome = await publisher().publish([cancelled]);

    // Assess
    expect(outcome.failed).toEqual([]);
    const byQueue = Object.fromEntries(queueCalls().map((c) => [c.QueueUrl, c.Entries]));
    expect(byQueue).toEqual({
      [QUEUE_URLS["order-events"]]: [
        expect.objectContaining({
          MessageGroupId: cancelled.data.customerId,
          MessageDeduplicationId: cancelled.id,
        }),
      ],
      [QUEUE_URLS.payments]: [
        expect.objectContaining({
          MessageGroupId: cancelled.data.orderId,
          MessageDeduplicationId: cancelled.id,
        }),
      ],
    });
  });

  it("sends inventory events to stock-alerts, grouped by SKU", async () => {
    // Prepare
    const low = event("inventory.low", { sku: "SKU-LOW", available: 2, minQuantity: 5 });
    const out = event("inventory.out", { sku: "SKU-OUT", available: 0, minQuantity: 5 });

    // Act
    const outcome = await publisher().publish([low, out]);

    // Assess
    expect(outcome.failed).toEqual([]);
    expect(
      busCalls()
        .flat()
        .map((e) => e.DetailType),
    ).toEqual(["inventory.low", "inventory.out"]);
    expect(queueCalls()).toEqual([
      {
        QueueUrl: QUEUE_URLS["stock-alerts"],
        Entries: [
          {
            Id: "m0",
            MessageBody: JSON.stringify(low),
            MessageGroupId: "SKU-LOW",
            MessageDeduplicationId: low.id,
          },
          {
            Id: "m1",
            MessageBody: JSON.stringify(out),
            MessageGroupId: "SKU-OUT",
            MessageDeduplicationId: out.id,
          },
        ],
      },
    ]);
  });

  it("splits 23 events into bus batches of 10, 10 and 3 and queue batches of at most 10, in order", async () => {
    // Prepare
    const customers = [randomUUID(), randomUUID()];
    const events = Array.from({ length: 23 }, (_, i) =>
      orderEvent(i % 3 === 0 ? "order.placed" : "order.confirmed", customers[i % 2]),
    );

    // Act
    const outcome = await publisher().publish(events);

    // Assess
    expect(outcome.failed).toEqual([]);
    const bus = busCalls();
    expect(bus.map((entries) => entries.length)).toEqual([10, 10, 3]);
    expect(bus.flat().map((e) => JSON.parse(e.Detail ?? "").id)).toEqual(events.map((e) => e.id));
    const queue = queueCalls();
    expect(queue.every((call) => (call.Entries ?? []).length <= 10)).toBe(true);
    expect(queue.every((call) => call.QueueUrl === QUEUE_URLS["order-events"])).toBe(true);
    for (const call of queue) {
      expect(call.Entries?.map((e) => e.Id)).toEqual(call.Entries?.map((_, i) => `m${i}`));
    }
    const sent = queue.flatMap((call) => call.Entries ?? []);
    expect(sent.map((e) => JSON.parse(e.MessageBody ?? "").id)).toEqual(events.map((e) => e.id));
    expect(sent.map((e) => e.MessageGroupId)).toEqual(events.map((e) => e.data.customerId));
  });

  it("sends a queue's batches one after another, so a group keeps its order across batches", async () => {
    // Prepare
    const customerId = randomUUID();
    const events = Array.from({ length: 25 }, () => orderEvent("order.confirmed", customerId));
    let inFlight = 0;
    let maxInFlight = 0;
    const started: string[] = [];
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      started.push(JSON.parse(input.Entries?.[0]?.MessageBody ?? "").id);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
      return { Successful: [], Failed: [] };
    });

    // Act
    const outcome = await publisher().publish(events);

    // Assess
    expect(outcome.failed).toEqual([]);
    expect(maxInFlight).toBe(1);
    expect(started).toEqual([events[0]?.id, events[10]?.id, events[20]?.id]);
  });

  it("reports exactly the event whose bus entry failed in a partially failed PutEvents", async () => {
    // Prepare
    const events = Array.from({ length: 5 }, () => orderEvent("order.confirmed"));
    eventBridgeMock.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [
        { EventId: "e0" },
        { EventId: "e1" },
        { ErrorCode: "InternalFailure", ErrorMessage: "Internal service error" },
        { EventId: "e3" },
        { EventId: "e4" },
      ],
    });

    // Act
    const outcome = await publisher().publish(events);

    // Assess
    expect(outcome.failed).toEqual([
      { id: events[2]?.id, error: "eventbridge: InternalFailure Internal service error" },
    ]);
    expect(queueCalls().flatMap((c) => c.Entries ?? [])).toHaveLength(5);
  });

  it("reports every event of a throttled PutEvents batch as failed, and no other", async () => {
    // Prepare
    const events = Array.from({ length: 12 }, () => orderEvent("order.confirmed"));
    const throttled = new EventBridgeServiceException({
      name: "ThrottlingException",
      $fault: "client",
      $metadata: {},
      message: "Rate exceeded",
    });
    eventBridgeMock.on(PutEventsCommand).callsFake(async (input: PutEventsCommandInput) => {
      if (input.Entries?.length === 10) throw throttled;
      return { FailedEntryCount: 0, Entries: [] };
    });

    // Act
    const outcome = await publisher().publish(events);

    // Assess
    expect(outcome.failed).toEqual(
      events
        .slice(0, 10)
        .map((e) => ({ id: e.id, error: "eventbridge: ThrottlingException Rate exceeded" })),
    );
    expect(busCalls().map((entries) => entries.length)).toEqual([10, 2]);
  });

  it("reports the Failed entries of SendMessageBatch", async () => {
    // Prepare
    const events = Array.from({ length: 3 }, () => orderEvent("order.confirmed"));
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [
        { Id: "m0", MessageId: "q0", MD5OfMessageBody: "x" },
        { Id: "m2", MessageId: "q2", MD5OfMessageBody: "x" },
      ],
      Failed: [{ Id: "m1", SenderFault: false, Code: "InternalError", Message: "Try again" }],
    });

    // Act
    const outcome = await publisher().publish(events);

    // Assess
    expect(outcome.failed).toEqual([
      { id: events[1]?.id, error: "sqs order-events: InternalError Try again" },
    ]);
  });

  it("reports every event of a SendMessageBatch that throws, and keeps sending later batches", async () => {
    // Prepare
    const events = Array.from({ length: 12 }, () => orderEvent("order.confirmed"));
    sqsMock
      .on(SendMessageBatchCommand)
      .rejectsOnce(Object.assign(new Error("Service unavailable"), { name: "ServiceUnavailable" }))
      .resolves({ Successful: [], Failed: [] });

    // Act
    const outcome = await publisher().publish(events);

    // Assess
    expect(outcome.failed).toEqual(
      events.slice(0, 10).map((e) => ({
        id: e.id,
        error: "sqs order-events: ServiceUnavailable Service unavailable",
      })),
    );
    expect(queueCalls().map((c) => c.Entries?.length)).toEqual([10, 2]);
  });

  it("holds back a group's later messages once one of its messages failed, and sends the other groups'", async () => {
    // Prepare: one customer's 12 events (two batches) and another customer's, after them
    const ann = randomUUID();
    const bob = randomUUID();
    const anns = Array.from({ length: 12 }, () => orderEvent("order.confirmed", ann));
    const bobs = Array.from({ length: 2 }, () => orderEvent("order.confirmed", bob));
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [],
        Failed: [{ Id: "m3", SenderFault: false, Code: "InternalError", Message: "Try again" }],
      })
      .resolves({ Successful: [], Failed: [] });

    // Act
    const outcome = await publisher().publish([...anns, ...bobs]);

    // Assess: Ann's fourth failed, her 11th and 12th wait for the relay; Bob's go out
    expect(outcome.failed.map((f) => f.id)).toEqual([anns[3]?.id, anns[10]?.id, anns[11]?.id]);
    expect(outcome.failed[1]?.error).toBe(
      "sqs order-events: held back behind an earlier failure in its group",
    );
    const second = queueCalls()[1]?.Entries ?? [];
    expect(second.map((e) => e.MessageGroupId)).toEqual([bob, bob]);
  });

  it("reports an event without a customerId as failed and still publishes the others", async () => {
    // Prepare
    const good = [orderEvent("order.placed"), orderEvent("order.confirmed")];
    const bad = event("order.placed", { orderId: randomUUID(), fingerprint: "fp" });

    // Act
    const outcome = await publisher().publish([
      good[0] as DomainEvent,
      bad,
      good[1] as DomainEvent,
    ]);

    // Assess
    expect(outcome.failed).toEqual([
      { id: bad.id, error: expect.stringMatching(/^routing: .*data\.customerId/) },
    ]);
    const onBus = busCalls()
      .flat()
      .map((e) => JSON.parse(e.Detail ?? "").id);
    const queued = queueCalls()
      .flatMap((c) => c.Entries ?? [])
      .map((e) => JSON.parse(e.MessageBody ?? "").id);
    expect(onBus).toEqual(good.map((e) => e.id));
    expect(queued).toEqual(good.map((e) => e.id));
  });

  it("refuses to start without a URL for a topology queue, naming its variable", () => {
    // Prepare
    const options = {
      eventBridge: new EventBridgeClient(clientOptions),
      sqs: new SQSClient(clientOptions),
      busName: BUS,
      queueUrls: { "order-events": QUEUE_URLS["order-events"] },
    };

    // Act
    const create = () => createAwsPublisher(options);

    // Assess
    expect(create).toThrow(/stock-alerts.*QUEUE_URL_STOCK_ALERTS/);
  });
});

// Vitest hands over the CommonJS module's `default` export, Node's own loader its module.exports.
type StartSes = typeof ses.default;
const startSes: StartSes = "default" in ses ? ses.default : (ses as unknown as StartSes);

describe("SES mailer", () => {
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    const port = await freePort();
    server = await startSes({ host: "127.0.0.1", port });
    endpoint = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    // The SDK keeps its connections alive; close() alone would wait for them.
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("delivers the email with sender, recipients, subject, text and html", async () => {
    // Prepare
    const mailer = createSesMailer({
      client: new SESv2Client({ ...clientOptions, endpoint }),
      from: "shop@flashstock.test",
    });
    const email = {
      to: ["stock@flashstock.test", "ops@flashstock.test"],
      subject: `Low stock: Café crème ☕ ${randomUUID()}`,
      text: "Only 2 left of SKU-1.",
      html: "<p>Only <strong>2</strong> left of SKU-1.</p>",
    };

    // Act
    const { messageId } = await mailer.send(email);

    // Assess
    const store = (await (await fetch(`${endpoint}/store`)).json()) as {
      emails: {
        messageId: string;
        from: string;
        destination: { to: string[] };
        subject: string;
        body: { text?: string; html?: string };
      }[];
    };
    const stored = store.emails.find((e) => e.messageId === messageId);
    expect(stored).toMatchObject({
      from: "shop@flashstock.test",
      destination: { to: email.to },
      subject: email.subject,
      body: { text: email.text, html: email.html },
    });
  });

  it("rejects when the email service cannot be reached", async () => {
    // Prepare
    const port = await freePort();
    const mailer = createSesMailer({
      client: new SESv2Client({
        ...clientOptions,
        endpoint: `http://127.0.0.1:${port}`,
        maxAttempts: 1,
      }),
      from: "shop@flashstock.test",
    });

    // Act
    const sending = mailer.send({
      to: ["ops@flashstock.test"],
      subject: "s",
      text: "t",
      html: "h",
    });

    // Assess
    await expect(sending).rejects.toThrow(/ECONNREFUSED/);
  });
});
