/**
 * Configuration. Locally and in tests, from environment variables. In a function deployed by SST,
 * the secrets, the bus, the queues and the sender come from its links, through `Resource`; the CDK
 * stack sets the same environment variables instead. Read lazily so that importing a handler has
 * no side effects, and each read of a secret checks that the running handler may have it.
 */

import { ACCESS_TOKEN_TTL_SECONDS } from "@flashstock/core/auth/index";
import { type AttemptLimits, defaultAttemptLimits } from "@flashstock/core/auth/throttle";
import { Resource } from "sst/resource";
import {
  bus,
  email,
  pascalCase,
  type SecretName,
  secrets,
  unsetSecret,
} from "../../../../infra/topology.ts";
import { requireNeed } from "./grants.ts";

/** SST links are active: the function was deployed by SST, or runs under `sst shell` / `sst dev`. */
const linked = () => "App" in Resource;

/** A link's property, typed loosely: SST generates the types at deploy time, we don't. */
const link = (name: string) =>
  (Resource as unknown as Record<string, Record<string, string | undefined>>)[name] ?? {};

/** A secret's declaration, once the running handler is found to be granted it. */
function grantedSecret(name: SecretName): (typeof secrets)[number] {
  const s = secrets.find((x) => x.name === name);
  if (!s) throw new Error(`No such secret in infra/topology.ts: ${name}`);
  requireNeed(s.need, `read ${s.name}`);
  return s;
}

/** A per-stage secret: `Resource.<name>.value` when linked, else its environment variable. */
export function secret(name: SecretName): string {
  const s = grantedSecret(name);
  if (linked()) {
    const value = link(name).value;
    if (!value) throw new Error(`Missing configuration: secret ${name} is empty for this stage`);
    return value;
  }
  return required(s.env);
}

/** An optional secret (see Secret.optional in the topology): undefined while it is `none` or empty. */
export function optionalSecret(name: SecretName): string | undefined {
  const s = grantedSecret(name);
  const value = (linked() ? link(name).value : process.env[s.env])?.trim();
  return value && value !== unsetSecret ? value : undefined;
}

export interface Config {
  databaseUrl: string;
  databaseDriver: "pg" | "neon";
  dbPoolMax: number;
  jwtSecret: string;
  tokenTtlSeconds: number;
  maxBodyBytes: number;
  duplicateWindowMinutes: number;
  /** The relay leaves younger events to the fast path of the request that wrote them. */
  relayMinAgeSeconds: number;
  attemptLimits: AttemptLimits;
  /** The web UI: emailed links (a password reset) open its pages. */
  webUrl: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Missing configuration: environment variable ${name} is not set`);
  return value;
}

function integer(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`Bad configuration: ${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

/** A comma-separated list of email addresses; at least one. */
function addresses(name: string, value: string): string[] {
  const list = value
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  const bad = list.filter((a) => !/^[^\s@]+@[^\s@]+$/.test(a));
  if (list.length === 0 || bad.length > 0) {
    throw new Error(`Bad configuration: ${name} must list email addresses, got "${bad.join(",")}"`);
  }
  return list;
}

export function config(): Config {
  const driver = process.env.DATABASE_DRIVER ?? "pg";
  if (driver !== "pg" && driver !== "neon") {
    throw new Error(`Bad configuration: DATABASE_DRIVER must be "pg" or "neon", got "${driver}"`);
  }
  return {
    // Getters: a handler that never touches the database or tokens never needs their secret.
    get databaseUrl() {
      return secret("DatabaseUrl");
    },
    get jwtSecret() {
      const value = secret("JwtSecret");
      if (value.length < 32) throw new Error("Bad configuration: JWT_SECRET needs 32+ characters");
      return value;
    },
    databaseDriver: driver,
    // One Lambda instance serves one request at a time: one connection is all it can use.
    dbPoolMax: integer("DB_POOL_MAX", 1),
    tokenTtlSeconds: integer("ACCESS_TOKEN_TTL_SECONDS", ACCESS_TOKEN_TTL_SECONDS),
    maxBodyBytes: integer("MAX_BODY_BYTES", 64 * 1024),
    duplicateWindowMinutes: integer("DUPLICATE_WINDOW_MINUTES", 30, 0),
    relayMinAgeSeconds: integer("OUTBOX_RELAY_MIN_AGE_SECONDS", 5, 0),
    webUrl: webUrl(),
    attemptLimits: {
      loginFailuresPerEmail: integer(
        "LOGIN_FAILURES_PER_EMAIL",
        defaultAttemptLimits.loginFailuresPerEmail,
      ),
      loginFailuresPerAddress: integer(
        "LOGIN_FAILURES_PER_ADDRESS",
        defaultAttemptLimits.loginFailuresPerAddress,
      ),
      resetRequestsPerEmailPerHour: integer(
        "RESET_REQUESTS_PER_EMAIL_PER_HOUR",
        defaultAttemptLimits.resetRequestsPerEmailPerHour,
      ),
      registrationsPerAddressPerHour: integer(
        "REGISTRATIONS_PER_ADDRESS_PER_HOUR",
        defaultAttemptLimits.registrationsPerAddressPerHour,
      ),
    },
  };
}

/** The environment variable that holds a topology queue's URL: order-events -> QUEUE_URL_ORDER_EVENTS. */
export const queueUrlVariable = (queue: string) =>
  `QUEUE_URL_${queue.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;

export interface PublishingConfig {
  eventBusName: string;
  queueUrls: Record<string, string>;
}

/** Where events go in the cloud. Locally the runtime injects its in-process publisher instead. */
export function publishingConfig(queueNames: readonly string[]): PublishingConfig {
  requireNeed("publish", "publish events");
  if (linked()) {
    const from = (name: string, property: string) => {
      const value = link(pascalCase(name))[property];
      if (!value) throw new Error(`Missing configuration: ${pascalCase(name)} is not linked`);
      return value;
    };
    return {
      eventBusName: from(bus.name, "name"),
      queueUrls: Object.fromEntries(queueNames.map((q) => [q, from(q, "url")])),
    };
  }
  return {
    eventBusName: required("EVENT_BUS_NAME"),
    queueUrls: Object.fromEntries(queueNames.map((q) => [q, required(queueUrlVariable(q))])),
  };
}

export interface EmailConfig {
  sender: string;
  stockManagers: string[];
  orderOps: string[];
  /** Set locally to the SES emulator; unset in the cloud. */
  sesEndpoint: string | undefined;
  /** Where the API is reached, so that emails can show the calls that resolve a held order. */
  apiUrl: string | undefined;
  /** The web UI, whose pages the emails link to (WEB_URL). */
  webUrl: string;
  /** A low-stock email suggests reordering enough for this many days at the current sales rate. */
  reorderCoverDays: number;
}

export function emailConfig(): EmailConfig {
  requireNeed("email", "send email");
  const sender = linked() ? link(email.name).sender : required(email.env);
  if (!sender) throw new Error(`Missing configuration: ${email.name} is not linked`);
  return {
    sender,
    stockManagers: addresses("STOCK_MANAGER_EMAILS", secret("StockManagerEmails")),
    orderOps: addresses("ORDER_OPS_EMAILS", secret("OrderOpsEmails")),
    sesEndpoint: process.env.SES_ENDPOINT || undefined,
    apiUrl: process.env.API_URL || undefined,
    webUrl: webUrl(),
    reorderCoverDays: reorderCoverDays(),
  };
}

/** The web UI whose pages emails link to (reset, stock dashboard, ops desk, order page). */
export const webUrl = () => process.env.WEB_URL || "http://127.0.0.1:3001";

/** The days of sales a suggested reorder covers: in the stock emails and the inventory report. */
export const reorderCoverDays = () => integer("REORDER_COVER_DAYS", 14);

export interface PaymentsConfig {
  stripeSecretKey: string;
  stripeWebhookSecret: string;
  /**
   * Where the Stripe SDK sends its requests: Stripe's own API unless `STRIPE_API_BASE` names
   * another (the tests' fake Stripe server, `http://127.0.0.1:<port>`).
   */
  stripeApi: { protocol: "http" | "https"; host: string; port: number } | undefined;
}

/** Stripe's keys; undefined while this stage takes no card payments (both must be set). */
export function paymentsConfig(): PaymentsConfig | undefined {
  requireNeed("payments", "take card payments");
  const stripeSecretKey = optionalSecret("StripeSecretKey");
  const stripeWebhookSecret = optionalSecret("StripeWebhookSecret");
  if (!stripeSecretKey || !stripeWebhookSecret) return undefined;
  const base = process.env.STRIPE_API_BASE;
  let stripeApi: PaymentsConfig["stripeApi"];
  if (base) {
    const url = URL.canParse(base) ? new URL(base) : undefined;
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      throw new Error(`Bad configuration: STRIPE_API_BASE must be an http(s) URL, got "${base}"`);
    }
    const protocol = url.protocol === "http:" ? "http" : "https";
    const port = Number(url.port || (protocol === "http" ? 80 : 443));
    stripeApi = { protocol, host: url.hostname, port };
  }
  return { stripeSecretKey, stripeWebhookSecret, stripeApi };
}

/** How long a card order waits for its payment before it is cancelled and its stock put back. */
export const paymentWindowMinutes = () => integer("PAYMENT_WINDOW_MINUTES", 15);
