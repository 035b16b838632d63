/**
 * Configuration, read from the environment. The local runtime and the tests set these variables;
 * in the cloud the deploy definitions do. Read lazily so that importing a handler has no side effects.
 */
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
function addresses(name: string): string[] {
  const list = required(name)
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
  const jwtSecret = required("JWT_SECRET");
  if (jwtSecret.length < 32) throw new Error("Bad configuration: JWT_SECRET needs 32+ characters");
  return {
    databaseUrl: required("DATABASE_URL"),
    databaseDriver: driver,
    // One Lambda instance serves one request at a time: one connection is all it can use.
    dbPoolMax: integer("DB_POOL_MAX", 1),
    jwtSecret,
    tokenTtlSeconds: integer("TOKEN_TTL_SECONDS", 12 * 3600),
    maxBodyBytes: integer("MAX_BODY_BYTES", 64 * 1024),
    duplicateWindowMinutes: integer("DUPLICATE_WINDOW_MINUTES", 30, 0),
    relayMinAgeSeconds: integer("OUTBOX_RELAY_MIN_AGE_SECONDS", 5, 0),
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
  /** A low-stock email suggests reordering enough for this many days at the current sales rate. */
  reorderCoverDays: number;
}

export function emailConfig(): EmailConfig {
  return {
    sender: required("EMAIL_SENDER"),
    stockManagers: addresses("STOCK_MANAGER_EMAILS"),
    orderOps: addresses("ORDER_OPS_EMAILS"),
    sesEndpoint: process.env.SES_ENDPOINT || undefined,
    apiUrl: process.env.API_URL || undefined,
    reorderCoverDays: integer("REORDER_COVER_DAYS", 14),
  };
}
