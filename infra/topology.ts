/**
 * The system, as plain data: every HTTP route, queue, bus rule and schedule, and the handler behind
 * each. The local runtime builds its router, queues, bus and timers from this file, and the cloud
 * definitions (SST in infra/, CDK in stacks/) read the same file, so that local and cloud cannot
 * drift. No SST or CDK import belongs here.
 *
 * A handler is named as SST names it: "<file path without extension>.<export name>".
 */
import type { EventType } from "../packages/core/src/events/index.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * What a function may reach, and nothing more: the cloud definitions turn each need into links,
 * environment and IAM statements, so a function gets only the permissions its part of the system
 * uses.
 * - `database`: the DatabaseUrl secret.
 * - `tokens`: the JwtSecret secret (signs and verifies bearer tokens).
 * - `publish`: PutEvents on the bus and SendMessage on every topology queue (the outbox's fast
 *   path publishes what the invocation committed; the relay publishes the rest).
 * - `email`: SendEmail from the sender identity, the stock-manager and ops addresses, and the web
 *   UI's URL (`web.urlEnv`), whose pages the emails link to.
 * - `payments`: the Stripe secrets (the API key, and the webhook's signing secret). Only the
 *   functions that take, settle or verify card payments load the `stripe` SDK, and it is installed
 *   beside their bundle, not bundled (see `nodeModulesFor`).
 */
export type Need = "database" | "tokens" | "publish" | "email" | "payments";

export interface HttpRoute {
  method: HttpMethod;
  /** API Gateway route syntax: `{name}` is one path segment. */
  path: string;
  handler: string;
  needs: readonly Need[];
  /**
   * npm packages installed beside the function's bundle instead of bundled into it: files the
   * handler reads at run time (the API reference page's script and stylesheet).
   */
  nodeModules?: readonly string[];
  /**
   * `reference`: the API describing itself, read by developers and tools, never on a shopper's
   * path; its bundle carries the OpenAPI document and is held to its own size budget.
   */
  audience?: "reference";
}

const http = "packages/functions/src/http";
// Every route but the health check reads the token secret (to verify, or to sign at login). Routes
// whose core call commits events (stock crossings, orders) also publish them.
const api = ["database", "tokens"] as const satisfies readonly Need[];
const apiPublishing = [...api, "publish"] as const satisfies readonly Need[];

export const routes = [
  // The API describing itself: no database, no secret.
  { method: "GET", path: "/", handler: `${http}/docs.index`, needs: [], audience: "reference" },
  {
    method: "GET",
    path: "/openapi.json",
    handler: `${http}/docs.openapi`,
    needs: [],
    audience: "reference",
  },
  {
    method: "GET",
    path: "/docs",
    handler: `${http}/docs.reference`,
    needs: [],
    audience: "reference",
  },
  {
    method: "GET",
    path: "/docs/swagger-ui.css",
    handler: `${http}/docs.stylesheet`,
    needs: [],
    nodeModules: ["swagger-ui-dist"],
    audience: "reference",
  },
  {
    method: "GET",
    path: "/docs/swagger-ui-bundle.js",
    handler: `${http}/docs.script`,
    needs: [],
    nodeModules: ["swagger-ui-dist"],
    audience: "reference",
  },

  { method: "GET", path: "/health", handler: `${http}/health.check`, needs: ["database"] },

  { method: "POST", path: "/auth/register", handler: `${http}/auth.register`, needs: api },
  { method: "POST", path: "/auth/login", handler: `${http}/auth.login`, needs: api },
  { method: "POST", path: "/auth/refresh", handler: `${http}/auth.refresh`, needs: api },
  { method: "POST", path: "/auth/logout", handler: `${http}/auth.logout`, needs: api },
  {
    method: "POST",
    path: "/auth/password-reset",
    handler: `${http}/auth.requestPasswordReset`,
    needs: [...api, "email"],
  },
  {
    method: "POST",
    path: "/auth/password-reset/confirm",
    handler: `${http}/auth.confirmPasswordReset`,
    needs: api,
  },
  { method: "GET", path: "/me", handler: `${http}/me.get`, needs: api },
  { method: "PATCH", path: "/me", handler: `${http}/me.update`, needs: api },
  { method: "POST", path: "/me/password", handler: `${http}/me.changePassword`, needs: api },
  { method: "POST", path: "/staff", handler: `${http}/staff.create`, needs: api },
  { method: "GET", path: "/staff", handler: `${http}/staff.list`, needs: api },
  { method: "PATCH", path: "/staff/{id}", handler: `${http}/staff.update`, needs: api },

  // A token is read when sent (staff see the low-stock line), so the catalog reads the token secret.
  { method: "GET", path: "/products", handler: `${http}/products.list`, needs: api },
  { method: "POST", path: "/products", handler: `${http}/products.create`, needs: api },
  { method: "GET", path: "/products/{sku}", handler: `${http}/products.get`, needs: api },
  { method: "PATCH", path: "/products/{sku}", handler: `${http}/products.update`, needs: api },

  {
    method: "POST",
    path: "/products/{sku}/reviews",
    handler: `${http}/reviews.create`,
    needs: api,
  },
  { method: "GET", path: "/products/{sku}/reviews", handler: `${http}/reviews.list`, needs: api },

  { method: "GET", path: "/inventory", handler: `${http}/inventory.list`, needs: api },
  {
    method: "PUT",
    path: "/inventory/{sku}",
    handler: `${http}/inventory.setMinimum`,
    needs: apiPublishing,
  },
  {
    method: "POST",
    path: "/inventory/{sku}/adjustments",
    handler: `${http}/inventory.adjust`,
    needs: apiPublishing,
  },
  {
    method: "GET",
    path: "/inventory/{sku}/movements",
    handler: `${http}/inventory.movements`,
    needs: api,
  },

  { method: "POST", path: "/carts", handler: `${http}/cart.create`, needs: api },
  { method: "GET", path: "/carts/{id}", handler: `${http}/cart.get`, needs: api },
  { method: "PUT", path: "/carts/{id}/items/{sku}", handler: `${http}/cart.setItem`, needs: api },
  {
    method: "DELETE",
    path: "/carts/{id}/items/{sku}",
    handler: `${http}/cart.removeItem`,
    needs: api,
  },
  {
    method: "PUT",
    path: "/carts/{id}/promotion",
    handler: `${http}/cart.applyPromotion`,
    needs: api,
  },
  {
    method: "DELETE",
    path: "/carts/{id}/promotion",
    handler: `${http}/cart.removePromotion`,
    needs: api,
  },

  {
    method: "POST",
    path: "/checkout",
    handler: `${http}/checkout.checkout`,
    needs: [...apiPublishing, "payments"],
  },

  { method: "GET", path: "/orders", handler: `${http}/orders.list`, needs: api },
  { method: "GET", path: "/orders/{id}", handler: `${http}/orders.get`, needs: api },
  {
    method: "POST",
    path: "/orders/{id}/cancel",
    handler: `${http}/orders.cancel`,
    needs: apiPublishing,
  },
  {
    method: "POST",
    path: "/orders/{id}/release",
    handler: `${http}/orders.release`,
    needs: apiPublishing,
  },
  {
    method: "POST",
    path: "/orders/{id}/ship",
    handler: `${http}/orders.ship`,
    needs: apiPublishing,
  },
  {
    method: "POST",
    path: "/orders/{id}/deliver",
    handler: `${http}/orders.deliver`,
    needs: apiPublishing,
  },

  { method: "GET", path: "/me/wallet", handler: `${http}/wallet.mine`, needs: api },
  {
    method: "GET",
    path: "/customers/{id}/wallet",
    handler: `${http}/wallet.ofCustomer`,
    needs: api,
  },
  {
    method: "POST",
    path: "/customers/{id}/wallet/transactions",
    handler: `${http}/wallet.change`,
    needs: api,
  },

  { method: "GET", path: "/reports/sales", handler: `${http}/reports.sales`, needs: api },
  { method: "GET", path: "/reports/inventory", handler: `${http}/reports.inventory`, needs: api },

  { method: "POST", path: "/promotions", handler: `${http}/promotions.create`, needs: api },
  { method: "GET", path: "/promotions", handler: `${http}/promotions.list`, needs: api },
  { method: "GET", path: "/promotions/{code}", handler: `${http}/promotions.get`, needs: api },
  { method: "PATCH", path: "/promotions/{code}", handler: `${http}/promotions.update`, needs: api },

  // Stripe calls it: no token, its signature is the proof (verified with STRIPE_WEBHOOK_SECRET).
  {
    method: "POST",
    path: "/webhooks/stripe",
    handler: `${http}/webhooks.stripe`,
    needs: ["database", "publish", "payments"],
  },
] as const satisfies readonly HttpRoute[];

/** An API Gateway token bucket: `rateLimit` requests per second refill it, `burstLimit` is its size. */
export interface Throttle {
  rateLimit: number;
  burstLimit: number;
}

/**
 * How much of the cloud one kind of request may take, so that a flood at one door cannot starve
 * checkout. API Gateway throttles the whole stage, and every route under `/auth/` tighter, before
 * any Lambda runs (over a limit it answers 429 itself, to every caller of that route: these limits
 * cap load, the per-email and per-address counts in Postgres single out an attacker). The auth
 * functions also get reserved concurrency, which caps how many instances each can hold at once.
 *
 * - Stage: about the checkouts a second one database sustained in the benchmark (825-1,152 at 8-32
 *   connections, README), with a burst of twice that for a sale's first second.
 * - `/auth/*`, per route: a login or register spends 280 ms of scrypt on a full vCPU, so 50 a second
 *   keep 14 instances busy; 20 reserved instances leave room for cold starts. The six auth
 *   functions reserve 120 of the account's concurrency (AWS keeps 100 unreserved, so the account
 *   needs a limit of at least 220; the default is 1,000), and checkout keeps the rest whatever
 *   arrives at `/auth/`. Refresh is cheap but shares the limit: 50 a second renew 45,000 signed-in
 *   shoppers' 15-minute tokens.
 */
export const throttling = {
  stage: { rateLimit: 1000, burstLimit: 2000 },
  auth: { rateLimit: 50, burstLimit: 100 },
  authReservedConcurrency: 20,
} as const satisfies { stage: Throttle; auth: Throttle; authReservedConcurrency: number };

/** The routes held to `throttling.auth`: sign-in, registration, refresh, logout and reset. */
export const isAuthRoute = (route: Pick<HttpRoute, "path">) => route.path.startsWith("/auth/");

/** The routes throttled tighter than the stage, by API Gateway route key (`POST /auth/login`). */
export function routeThrottles(): ({ routeKey: string } & Throttle)[] {
  return routes
    .filter(isAuthRoute)
    .map((r) => ({ routeKey: `${r.method} ${r.path}`, ...throttling.auth }));
}

/**
 * Calls from browser pages on other origins (the web storefront and dashboard). The policy is
 * declared here once: SST passes it to the API's `cors`, CDK to `corsPreflight`, and the local
 * runtime answers preflight requests itself with the same headers, as API Gateway does before any
 * Lambda runs. Which origins may call is per stage: `CORS_ALLOWED_ORIGINS` (comma-separated) in
 * the deploying shell for SST and in the runtime's environment locally, `-c corsOrigins=` for CDK,
 * whose stack also allows its own web UI (an SST stage's must be named in CORS_ALLOWED_ORIGINS: its
 * site is built after the API, so the API cannot wait for the site's URL).
 * An origin not on the list gets no `Access-Control-Allow-Origin`, so browsers refuse the answer.
 */
export const cors = {
  originsEnv: "CORS_ALLOWED_ORIGINS",
  /** What `npm start` allows when CORS_ALLOWED_ORIGINS is unset: the local web UI. */
  localOrigins: ["http://127.0.0.1:3001", "http://localhost:3001"],
  allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
  allowHeaders: ["authorization", "content-type", "idempotency-key"],
  exposeHeaders: ["idempotent-replayed"],
  maxAgeSeconds: 600,
} as const;

/** `https://shop.example.com, http://127.0.0.1:3001` as a list; throws on anything not an origin. */
export function parseOrigins(value: string | undefined): string[] {
  const origins = (value ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (!/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i.test(origin)) {
      throw new Error(
        `${cors.originsEnv}: "${origin}" is not an origin (scheme://host[:port], no path or slash)`,
      );
    }
  }
  return origins;
}

/** A field of an event: `id`, or `data.<name>`. */
export type EventField = "id" | `data.${string}`;

/**
 * An SQS FIFO queue that the publisher feeds straight from the outbox (not through the bus: an
 * EventBridge target can only give a FIFO queue one fixed MessageGroupId, and we need one group per
 * customer or SKU and our own deduplication ids).
 */
export interface FifoQueue {
  /** The queue is `<name>.fifo`; its dead-letter queue `<name>-dlq.fifo`. */
  name: string;
  /** The event types the publisher sends to this queue. */
  events: readonly EventType[];
  /** Messages of one group are delivered in order, one group never waits for another. */
  messageGroupId: EventField;
  /** SQS drops a message whose id it has seen in the last 5 minutes. Per type; `default` otherwise. */
  deduplicationId: { default: EventField } & Partial<Record<EventType, EventField>>;
  consumer: {
    handler: string;
    /** Up to 10 messages per invocation (the FIFO maximum). */
    batchSize: number;
    needs: readonly Need[];
  };
  /** Long enough for a whole batch, emails included (SQS default is 30 s). */
  visibilityTimeoutSeconds: number;
  /** After this many receives a message moves to the dead-letter queue. */
  maxReceiveCount: number;
}

export const queues = [
  {
    name: "order-events",
    events: [
      "order.awaiting_payment",
      "order.placed",
      "order.held",
      "order.released",
      "order.cancelled",
      "order.confirmed",
      "order.shipped",
      "order.delivered",
      "order.refunded",
      "order.refund_requested",
    ],
    messageGroupId: "data.customerId",
    // Each event by its own id: SQS drops only a re-sent copy of the same event (the relay and the
    // fast path racing). Not by the order's fingerprint: an identical order placed again after the
    // first was cancelled, or with the duplicate hold turned off, is a real order, and a dropped
    // order.placed would leave it unconfirmed forever. Suspected duplicates are held in the database.
    deduplicationId: { default: "id" },
    consumer: {
      handler: "packages/functions/src/queue/order-events.handler",
      batchSize: 10,
      // Confirming an order commits `order.confirmed`, which it publishes.
      needs: ["database", "publish", "email"],
    },
    visibilityTimeoutSeconds: 60,
    maxReceiveCount: 5,
  },
  {
    name: "stock-alerts",
    events: ["inventory.low", "inventory.out", "inventory.restocked"],
    messageGroupId: "data.sku",
    deduplicationId: { default: "id" },
    consumer: {
      handler: "packages/functions/src/queue/stock-alerts.handler",
      batchSize: 10,
      needs: ["database", "email"],
    },
    visibilityTimeoutSeconds: 60,
    maxReceiveCount: 5,
  },
  {
    // The money of a cancelled card order, at Stripe: its payment cancelled, or refunded. Apart from
    // order-events so that only this consumer holds the Stripe key, and a Stripe outage delays
    // refunds, never a confirmation email. One group per order: its events are settled in order.
    name: "payments",
    events: ["order.cancelled", "order.refund_requested"],
    messageGroupId: "data.orderId",
    deduplicationId: { default: "id" },
    consumer: {
      handler: "packages/functions/src/queue/payments.handler",
      batchSize: 10,
      needs: ["database", "payments"],
    },
    visibilityTimeoutSeconds: 60,
    maxReceiveCount: 5,
  },
] as const satisfies readonly FifoQueue[];

/** Every event goes to this EventBridge bus, with source `flashstock` and detail-type its type. */
export const bus = { name: "events", source: "flashstock" } as const;

/**
 * A rule on the bus. Patterns use only `source`, `detail-type` and `detail`: SST's Bus
 * subscription keeps only those keys.
 */
export interface BusRule {
  name: string;
  pattern: { source?: readonly string[]; "detail-type"?: readonly string[] };
  handler: string;
  needs: readonly Need[];
}

export const busRules = [
  // Every event as one structured log line: the audit trail of an order or a SKU, searchable in
  // CloudWatch Logs Insights, and a live subscriber that proves the bus delivers.
  {
    name: "event-log",
    pattern: { source: [bus.source] },
    handler: "packages/functions/src/bus/event-log.handler",
    needs: [],
  },
] as const satisfies readonly BusRule[];

export interface Schedule {
  name: string;
  handler: string;
  /** EventBridge Scheduler / CloudWatch rate expression, for the cloud. */
  rate: string;
  /** How often the local runtime runs it. */
  localEverySeconds: number;
  needs: readonly Need[];
}

export const schedules = [
  {
    name: "outbox-relay",
    handler: "packages/functions/src/schedule/outbox-relay.handler",
    rate: "rate(1 minute)",
    localEverySeconds: 3,
    needs: ["database", "publish"],
  },
  {
    // Card orders unpaid after PAYMENT_WINDOW_MINUTES: cancelled, their stock back on sale.
    name: "expire-unpaid-orders",
    handler: "packages/functions/src/schedule/expire-unpaid-orders.handler",
    rate: "rate(1 minute)",
    localEverySeconds: 5,
    needs: ["database", "publish"],
  },
] as const satisfies readonly Schedule[];

/**
 * Per-stage settings, each read by the functions whose need it serves. In SST each is an
 * `sst.Secret` (`npx sst secret set <name> <value> --stage <stage>`) linked to those functions; the
 * CDK stack reads each from Secrets Manager as `flashstock/<stage>/<name>`; locally and in tests each
 * is its environment variable.
 */
export interface Secret {
  name: string;
  env: string;
  need: Need;
  description: string;
  /**
   * A stage may go without it: SST creates it with the placeholder `none`, and the CDK stack's
   * operator stores `none`; the functions read `none` (or empty) as not configured.
   */
  optional?: true;
}

/** What an optional secret holds while it is not configured. */
export const unsetSecret = "none";

export const secrets = [
  {
    name: "DatabaseUrl",
    env: "DATABASE_URL",
    need: "database",
    description: "the Neon connection string (postgresql://...?sslmode=require)",
  },
  {
    name: "JwtSecret",
    env: "JWT_SECRET",
    need: "tokens",
    description: "32+ random characters that sign the bearer tokens (HS256)",
  },
  {
    name: "StockManagerEmails",
    env: "STOCK_MANAGER_EMAILS",
    need: "email",
    description: "who receives low-stock and out-of-stock emails (comma-separated)",
  },
  {
    name: "OrderOpsEmails",
    env: "ORDER_OPS_EMAILS",
    need: "email",
    description: "who receives suspected-duplicate emails (comma-separated)",
  },
  {
    name: "StripeSecretKey",
    env: "STRIPE_SECRET_KEY",
    need: "payments",
    description: "Stripe's secret API key (sk_live_... or sk_test_...); `none`: no card payments",
    optional: true,
  },
  {
    name: "StripeWebhookSecret",
    env: "STRIPE_WEBHOOK_SECRET",
    need: "payments",
    description:
      "the signing secret of the Stripe webhook endpoint for /webhooks/stripe (whsec_...)",
    optional: true,
  },
] as const satisfies readonly Secret[];

export type SecretName = (typeof secrets)[number]["name"];

/**
 * The SES identity every email is sent from. Its address is chosen per stage when deploying (the
 * `EMAIL_SENDER` environment variable of the deploying shell for SST, a context value for CDK), and
 * is `EMAIL_SENDER` in the function's environment locally.
 */
export const email = { name: "Sender", env: "EMAIL_SENDER" } as const;

/**
 * The web UI (packages/web) in the cloud: one Vite build for every stage, and beside it
 * `config.json`, written at deploy time with the stage's API URL, which the UI reads when it starts
 * (packages/web/src/api.ts). SST serves it as a StaticSite; the CDK stack from a private bucket
 * behind CloudFront. Both answer a path that is no file with `index.html` (status 200), so that the
 * UI's router shows `/orders/<id>` or `/stock/<sku>` opened from an email.
 */
export const web = {
  /** The SST component, and the CDK construct. */
  name: "Web",
  /** The Vite project, from the repository root. */
  path: "packages/web",
  /** Run in `path`; writes the site to `output` (relative to `path`). */
  build: { command: "npm run build", output: "dist" },
  indexDocument: "index.html",
  configFile: "config.json",
  /** Vite names every file under this directory of the build after its content's hash. */
  hashedAssets: "assets",
  cacheControl: {
    /** A hashed file never changes under its name: kept a year, not even revalidated. */
    hashed: "public, max-age=31536000, immutable",
    /**
     * `index.html` and `config.json` keep their names from deploy to deploy: revalidated on every
     * load, so a deploy reaches browsers at their next visit (and CloudFront at its invalidation).
     */
    entry: "no-cache",
  },
  /** The functions' variable that holds the site's URL (see `Need`). */
  urlEnv: "WEB_URL",
  /**
   * Stripe's publishable key (`pk_...`), from the deploying shell (SST), `-c stripePublishableKey`
   * (CDK) or the runtime's environment (local): public by design, so it is config, not a secret.
   * With it the storefront offers cards.
   */
  publishableKeyEnv: "STRIPE_PUBLISHABLE_KEY",
} as const;

/** What `config.json` holds: the shape `startApi()` in packages/web/src/api.ts reads. */
export const webConfig = (apiUrl: string, stripePublishableKey?: string) => ({
  apiUrl,
  ...(stripePublishableKey ? { stripePublishableKey } : {}),
});

/** `order-events` -> `OrderEvents`: the name of a component in SST and of a construct in CDK. */
export const pascalCase = (name: string) =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join("");

export type Trigger =
  | { kind: "http"; route: HttpRoute }
  | { kind: "queue"; queue: FifoQueue }
  | { kind: "bus"; rule: BusRule }
  | { kind: "schedule"; schedule: Schedule };

/** One Lambda function: every handler of the topology is exactly one. */
export interface LambdaFunction {
  /** Unique, PascalCase: `ApiPostCheckout`, `OrderEventsConsumer`, `EventLog`, `OutboxRelay`. */
  name: string;
  handler: string;
  trigger: Trigger;
  needs: readonly Need[];
  timeoutSeconds: number;
  memoryMb: number;
  /** Packages installed beside the bundle (see HttpRoute.nodeModules). */
  nodeModules: readonly string[];
  /** At most this many instances at once, reserved from the account (see `throttling`). */
  reservedConcurrency?: number;
}

// API Gateway gives up on an integration after 30 s; a checkout takes milliseconds, so 15 s is a
// stuck connection, not a slow order. A consumer must finish a batch of 10 (each with an email)
// well inside its queue's visibility timeout, or SQS redelivers it while it runs. The relay must
// finish before the next minute's run starts. 1,769 MB is one full vCPU: scrypt at login and
// register takes 280 ms of CPU, and half a vCPU doubles it.
const timeouts = { http: 15, queue: 30, bus: 10, schedule: 50 } as const;
const memory = { http: 1769, queue: 512, bus: 256, schedule: 512 } as const;

/**
 * Packages installed beside a function's bundle. `stripe` is one: bundled it adds about 240 KB to
 * every function that can reach Stripe (checkout among them, a hot path with a 300 KB budget),
 * while installed it is loaded only by the invocation that calls Stripe, and a checkout paid by
 * store credit or on delivery never loads it.
 *
 * The password-strength dictionaries are another (1.6 MB minified, 45-60 ms to import, 0.3-0.7 s to
 * index): core loads them on the first new password a process scores. esbuild bundles a whole
 * handler file, so every function of a file that can score one installs them, login and refresh
 * included, which never load them. A file that starts scoring passwords and is not listed here
 * fails its bundle budget (packages/functions/test/bundle-budget.test.ts).
 */
function nodeModulesFor(handler: string, trigger: Trigger, needs: readonly Need[]): string[] {
  return [
    ...(trigger.kind === "http" ? (trigger.route.nodeModules ?? []) : []),
    ...(needs.includes("payments") ? ["stripe"] : []),
    ...(scoresPasswords.includes(handler.slice(0, handler.lastIndexOf(".")))
      ? passwordScoring
      : []),
  ];
}

/** Handler files with a route that sets a password: register, reset, change, staff creation. */
const scoresPasswords = [`${http}/auth`, `${http}/me`, `${http}/staff`];
const passwordScoring = ["@zxcvbn-ts/core", "@zxcvbn-ts/language-common", "@zxcvbn-ts/language-en"];

export function lambdaFunctions(): LambdaFunction[] {
  const fn = (name: string, handler: string, trigger: Trigger, needs: readonly Need[]) => ({
    name,
    handler,
    trigger,
    needs,
    timeoutSeconds: timeouts[trigger.kind],
    memoryMb: memory[trigger.kind],
    nodeModules: nodeModulesFor(handler, trigger, needs),
    ...(trigger.kind === "http" && isAuthRoute(trigger.route)
      ? { reservedConcurrency: throttling.authReservedConcurrency }
      : {}),
  });
  return [
    ...routes.map((route) =>
      fn(
        `Api${pascalCase(`${route.method} ${route.path}`)}`,
        route.handler,
        { kind: "http", route },
        route.needs,
      ),
    ),
    ...queues.map((queue) =>
      fn(
        `${pascalCase(queue.name)}Consumer`,
        queue.consumer.handler,
        { kind: "queue", queue },
        queue.consumer.needs,
      ),
    ),
    ...busRules.map((rule) =>
      fn(pascalCase(rule.name), rule.handler, { kind: "bus", rule }, rule.needs),
    ),
    ...schedules.map((schedule) =>
      fn(
        pascalCase(schedule.name),
        schedule.handler,
        { kind: "schedule", schedule },
        schedule.needs,
      ),
    ),
  ];
}

/**
 * How every function is built and run, in SST and CDK alike: the bundle `npm run bench` measures
 * (ESM, minified, the AWS SDK left to the runtime), on the runtime the project pins (Node 24), on
 * Graviton (arm64: cheaper per GB-second, and our code has no native modules).
 */
export const lambdaRuntime = {
  runtime: "nodejs24.x",
  architecture: "arm64",
  format: "esm",
  minify: true,
  sourcemap: true,
  /**
   * The AWS SDK is provided by the Lambda runtime: bundling it would only add size and cold-start
   * time. pg-native is an optional addon of pg that we never load.
   */
  external: ["@aws-sdk/*", "pg-native"],
  /** The cloud reaches Neon over WebSockets: node-postgres is dead code there (see db/index.ts). */
  define: { "process.env.FLASHSTOCK_BUNDLED_DRIVER": '"neon"' },
  /** Licence texts go to a .LEGAL.txt beside the bundle instead of into the code Lambda loads. */
  legalComments: "external",
  /** CommonJS dependencies (pg) call require(); an ESM bundle needs one. */
  banner:
    "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
} as const;

/**
 * Non-secret environment of a function. The cloud reaches Neon over WebSockets with its serverless
 * driver; source maps make stack traces point at our TypeScript.
 */
export function environmentFor(fn: LambdaFunction): Record<string, string> {
  return {
    NODE_OPTIONS: "--enable-source-maps",
    POWERTOOLS_LOG_LEVEL: "INFO",
    ...(fn.needs.includes("database") ? { DATABASE_DRIVER: "neon" } : {}),
  };
}

/** The secrets a function's needs give it. */
export const secretsFor = (needs: readonly Need[]): (typeof secrets)[number][] =>
  secrets.filter((s) => needs.includes(s.need));

export const topology = { routes, queues, bus, busRules, schedules, secrets, email } as const;
export type Topology = typeof topology;
