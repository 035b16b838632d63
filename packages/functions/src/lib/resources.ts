import { createDb, type Db } from "@flashstock/core/db/index";
import type { DomainEvent } from "@flashstock/core/events/index";
import { type EventPublisher, publishCommitted } from "@flashstock/core/events/outbox";
import type { Mailer } from "@flashstock/core/notification/mailer";
import { queues } from "../../../../infra/topology.ts";
import { config, emailConfig, publishingConfig } from "./config.ts";
import { requireNeed } from "./grants.ts";
import { logger } from "./logger.ts";

export { logger };

// One of each per Lambda instance (or per local process), created on first use and kept warm.
let pool: Db | undefined;
let publisher: EventPublisher | undefined;
let mailer: Mailer | undefined;

export function db(): Db {
  requireNeed("database", "reach the database");
  if (!pool) {
    const c = config();
    pool = createDb({ url: c.databaseUrl, driver: c.databaseDriver, max: c.dbPoolMax });
  }
  return pool;
}

/** For the local runtime and tests: close the pool so the process (or the database) can stop. */
export async function closeDb(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.end();
}

/** Loads once, on first call; a failed load (a missing setting) is tried again next time. */
export function onFirstUse<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () =>
    (loaded ??= load().catch((err) => {
      loaded = undefined;
      throw err;
    }));
}

/**
 * EventBridge and the SQS FIFO queues in the cloud; whatever useEventPublisher installed locally.
 * The AWS SDK clients are loaded on the first publish, not when the handler module is imported: a
 * handler that never publishes (GET /products) never pays for them at a cold start.
 */
export function eventPublisher(): EventPublisher {
  requireNeed("publish", "publish events");
  if (!publisher) {
    const aws = onFirstUse(async () => {
      const c = publishingConfig(queues.map((q) => q.name));
      const [{ EventBridgeClient }, { SQSClient }, { createAwsPublisher }] = await Promise.all([
        import("@aws-sdk/client-eventbridge"),
        import("@aws-sdk/client-sqs"),
        import("../events/aws.ts"),
      ]);
      return createAwsPublisher({
        eventBridge: new EventBridgeClient({}),
        sqs: new SQSClient({}),
        busName: c.eventBusName,
        queueUrls: c.queueUrls,
      });
    });
    publisher = { publish: async (events) => (await aws()).publish(events) };
  }
  return publisher;
}

/**
 * The local runtime routes events in process (no SQS or EventBridge emulator speaks the current
 * SDK's protocol); it installs its publisher here, and the handlers stay the same code.
 */
export function useEventPublisher(p: EventPublisher | undefined): void {
  publisher = p;
}

/** SES; locally the same adapter, pointed at the SES emulator by SES_ENDPOINT. Loaded on first use. */
export function emailSender(): Mailer {
  requireNeed("email", "send email");
  if (!mailer) {
    const ses = onFirstUse(async () => {
      const c = emailConfig();
      const [{ SESv2Client }, { createSesMailer }] = await Promise.all([
        import("@aws-sdk/client-sesv2"),
        import("../email/ses.ts"),
      ]);
      const client = c.sesEndpoint
        ? new SESv2Client({
            endpoint: c.sesEndpoint,
            region: process.env.AWS_REGION ?? "us-east-1",
            credentials: { accessKeyId: "local", secretAccessKey: "local" },
          })
        : new SESv2Client({});
      return createSesMailer({ client, from: c.sender });
    });
    mailer = { send: async (email) => (await ses()).send(email) };
  }
  return mailer;
}

/** For tests: forget the mailer so the next email reads the configuration again. */
export function resetEmailSender(): void {
  mailer = undefined;
}

/**
 * The fast path after commit: publish what this invocation committed. Never throws (nor does
 * publishCommitted); what did not go out, a missing queue URL included, stays in the outbox for
 * the relay, and is logged.
 */
export async function publishNow(events: DomainEvent[]): Promise<void> {
  const report = await publishCommitted(db(), eventPublisher(), events);
  if (report.failed.length > 0) {
    logger.warn("events left to the outbox relay", { failed: report.failed });
  }
}
