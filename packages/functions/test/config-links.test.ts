/**
 * How a function finds its settings: through SST links when SST deployed it (Resource, from the
 * SST_RESOURCE_* variables that SST sets, the same data its encrypted links file carries), from
 * environment variables otherwise, and only those its topology needs allow. This file sets SST's
 * variables before anything reads Resource, which loads them once per process: vitest runs each
 * file in its own process.
 */
import { withGrants } from "@flashstock/functions/lib/grants";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { config, emailConfig, publishingConfig, secret } from "../src/lib/config.ts";

const LINKS: Record<string, unknown> = {
  App: { name: "flashstock", stage: "ann" },
  DatabaseUrl: { value: "postgresql://linked@db.neon.example/flashstock?sslmode=require" },
  JwtSecret: { value: "a-linked-secret-of-more-than-32-characters" },
  StockManagerEmails: { value: "sam@shop.example, kim@shop.example" },
  OrderOpsEmails: { value: "ops@shop.example" },
  Events: { name: "flashstock-ann-EventsBus", arn: "arn:aws:events:eu-west-1:1:event-bus/x" },
  OrderEvents: { url: "https://sqs.eu-west-1.amazonaws.com/1/flashstock-ann-OrderEvents.fifo" },
  StockAlerts: { url: "https://sqs.eu-west-1.amazonaws.com/1/flashstock-ann-StockAlerts.fifo" },
  Sender: { sender: "orders@shop.example", configSet: "x" },
};

const saved = { ...process.env };
beforeAll(() => {
  for (const [name, value] of Object.entries(LINKS)) {
    process.env[`SST_RESOURCE_${name}`] = JSON.stringify(value);
  }
  // Set to something else, to prove the links win where they are active.
  process.env.DATABASE_URL = "postgresql://from-env@127.0.0.1/not-this";
  process.env.EVENT_BUS_NAME = "not-this-bus";
});
afterAll(() => {
  process.env = saved;
});

describe("settings in a function deployed by SST", () => {
  it("reads the secrets from the stage's links, not from the environment", () => {
    // Act
    const c = config();

    // Assess
    expect(c.databaseUrl).toBe("postgresql://linked@db.neon.example/flashstock?sslmode=require");
    expect(c.jwtSecret).toBe("a-linked-secret-of-more-than-32-characters");
  });

  it("reads the bus name and each queue's URL from the linked bus and queues", () => {
    // Act
    const c = publishingConfig(["order-events", "stock-alerts"]);

    // Assess
    expect(c).toEqual({
      eventBusName: "flashstock-ann-EventsBus",
      queueUrls: {
        "order-events": "https://sqs.eu-west-1.amazonaws.com/1/flashstock-ann-OrderEvents.fifo",
        "stock-alerts": "https://sqs.eu-west-1.amazonaws.com/1/flashstock-ann-StockAlerts.fifo",
      },
    });
  });

  it("reads the sender from the linked Email and the recipients from their secrets", () => {
    // Act
    const c = emailConfig();

    // Assess
    expect(c.sender).toBe("orders@shop.example");
    expect(c.stockManagers).toEqual(["sam@shop.example", "kim@shop.example"]);
    expect(c.orderOps).toEqual(["ops@shop.example"]);
  });
});

describe("settings within a handler's declared needs", () => {
  it("lets a handler read the secrets its needs grant", () => {
    // Act
    const url = withGrants("test/health.check", ["database"], () => secret("DatabaseUrl"));

    // Assess
    expect(url).toContain("linked@db.neon.example");
  });

  it.each<[string, () => unknown, RegExp]>([
    ["JwtSecret", () => config().jwtSecret, /may not read JwtSecret.*"tokens"/],
    ["the bus", () => publishingConfig(["order-events"]), /may not publish events.*"publish"/],
    ["the sender", () => emailConfig(), /may not send email.*"email"/],
  ])("refuses %s to a handler whose needs do not include it", (_, read, message) => {
    // Act / Assess
    expect(() => withGrants("test/health.check", ["database"], read)).toThrow(message);
  });
});
