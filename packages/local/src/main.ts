import "./log-level.ts";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { ensureAdmin } from "@flashstock/core/auth/index";
import { createDb } from "@flashstock/core/db/index";
import { migrate } from "@flashstock/core/db/migrate";
import { demoCustomer, seedDemoCatalog, seedDemoCustomer } from "@flashstock/core/seed";
import { closeDb, useEventPublisher } from "@flashstock/functions/lib/resources";
import { cors, parseOrigins, routes, web as webUi } from "../../../infra/topology.ts";
import { createLocalEventSystem } from "./events/system.ts";
import { startEmbeddedPostgres } from "./postgres.ts";
import { startHttpServer } from "./server.ts";
import { startSesEmulator } from "./ses.ts";
import { ensureWebBuild, startWebServer } from "./web.ts";

const env = process.env;
const dataDir = resolve(env.DATA_DIR ?? ".data");
const port = Number(env.PORT ?? 3000);
const pgPort = Number(env.PG_PORT ?? 54329);
const sesPort = Number(env.SES_PORT ?? 8005);
const webPort = Number(env.WEB_PORT ?? 3001);
const adminEmail = env.ADMIN_EMAIL ?? "admin@example.com";
const adminPassword = env.ADMIN_PASSWORD ?? "admin-local-only";

/** Locally a JWT secret is made once per data directory, so tokens survive a restart. */
function localJwtSecret(): string {
  const file = resolve(dataDir, "jwt-secret");
  if (!existsSync(file))
    writeFileSync(file, randomBytes(32).toString("base64url"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

// What has started, stopped in reverse order. A stop asked for during startup (SIGTERM while
// Postgres initialises, say) waits for the step under way, so nothing is left half-started or
// running without its parent.
const started: (() => Promise<unknown>)[] = [];
let stopAsked = false;
let stopping: Promise<never> | undefined;
let running = false;

function stop(): Promise<never> {
  stopping ??= (async () => {
    console.log("stopping...");
    for (const close of started.reverse()) await close();
    process.exit(0);
  })();
  return stopping;
}

function askToStop() {
  stopAsked = true;
  if (running) void stop();
}
process.on("SIGINT", askToStop);
process.on("SIGTERM", askToStop);

/** One step of startup: what it starts is registered for stopping, then a pending stop runs. */
async function step<T>(start: () => Promise<T>, close?: (value: T) => Promise<unknown>) {
  const value = await start();
  if (close) started.push(() => close(value));
  if (stopAsked) await stop();
  return value;
}

async function main() {
  await mkdir(dataDir, { recursive: true });
  const postgres = env.DATABASE_URL
    ? undefined
    : await step(
        () =>
          startEmbeddedPostgres({
            dataDir: resolve(dataDir, "postgres"),
            port: pgPort,
            database: "flashstock",
          }),
        (pg) => pg.stop(),
      );
  const databaseUrl = env.DATABASE_URL || (postgres?.url as string);

  // The handlers read their configuration from the environment, as they do in Lambda.
  env.DATABASE_URL = databaseUrl;
  env.JWT_SECRET ||= localJwtSecret();
  // Emails link to the web UI this runtime serves (reset, stock dashboard, ops desk, orders).
  env.WEB_URL ||= `http://127.0.0.1:${webPort}`;
  env.DB_POOL_MAX ||= "20";

  const db = createDb({ url: databaseUrl, max: 2 });
  const { applied, seeded } = await step(async () => {
    const applied = await migrate(db);
    await ensureAdmin(db, { email: adminEmail, password: adminPassword });
    const admin = await db.query<{ id: string }>(
      "SELECT id FROM users WHERE lower(email) = lower($1)",
      [adminEmail],
    );
    const adminId = admin.rows[0]?.id as string;
    const seeded = env.SEED_DEMO === "0" ? 0 : await seedDemoCatalog(db, adminId);
    if (env.SEED_DEMO !== "0") await seedDemoCustomer(db, adminId);
    await db.end();
    return { applied, seeded };
  });

  // Emails go to the SES emulator through the same SES adapter the cloud uses.
  const ses = env.SES_ENDPOINT
    ? undefined
    : await step(
        () => startSesEmulator({ port: sesPort }),
        (emulator) => emulator.close(),
      );
  env.SES_ENDPOINT ||= ses?.url;
  env.EMAIL_SENDER ||= "flashstock@example.com";
  env.STOCK_MANAGER_EMAILS ||= "stock-manager@example.com";
  env.ORDER_OPS_EMAILS ||= "order-ops@example.com";
  env.API_URL ||= `http://localhost:${port}`;
  // The local web UI may call the API from its own origin; an empty value allows none. Checked
  // now, so that a typo fails the start rather than every request.
  env[cors.originsEnv] ??= [
    ...new Set([
      ...cors.localOrigins,
      `http://127.0.0.1:${webPort}`,
      `http://localhost:${webPort}`,
    ]),
  ].join(",");
  const corsOrigins = parseOrigins(env[cors.originsEnv]);

  // The bus, the FIFO queues, their consumers and the relay schedule, in process, from the topology.
  // LOCAL_VISIBILITY_TIMEOUT_SECONDS shortens every queue's visibility timeout (60 s, as in the
  // cloud), so that a message whose consumer failed (the database was down, say) is delivered again
  // within seconds: the reliability tests use it to see recovery without waiting out the minute.
  const visibility = Number(env.LOCAL_VISIBILITY_TIMEOUT_SECONDS);
  const events = createLocalEventSystem(
    visibility > 0 ? { visibilityTimeoutMs: visibility * 1000 } : {},
  );
  useEventPublisher(events.publisher);
  // The handlers' pool closes after the consumers, which use it, and before Postgres.
  started.push(closeDb);
  // LOCAL_CONSUMERS=0 leaves the queues, bus rules and schedules idle (events still queue up): the
  // benchmark uses it to measure checkout alone, as in the cloud where consumers are other Lambdas.
  await step(
    async () => {
      if (env.LOCAL_CONSUMERS !== "0") events.start();
    },
    () => events.stop(),
  );

  const http = await step(
    () => startHttpServer(routes, { port, host: env.HOST ?? "127.0.0.1" }),
    (server) => server.close(),
  );
  // WEB_PORT=0 runs the API without the web UI (the tests of the API alone use it).
  const web =
    webPort === 0
      ? undefined
      : await step(
          async () => {
            const built = await ensureWebBuild();
            const server = await startWebServer({
              port: webPort,
              host: env.HOST ?? "127.0.0.1",
              apiUrl: http.url,
              stripePublishableKey: env[webUi.publishableKeyEnv],
            });
            return { ...server, built };
          },
          (server) => server.close(),
        );
  running = true;
  console.log(
    [
      `flashstock is running at ${http.url}`,
      ...(web
        ? [`  web UI: ${web.url} (storefront${web.built ? "; built just now" : ""})`]
        : ["  web UI: off (WEB_PORT=0)"]),
      `  database: ${postgres ? `embedded Postgres on port ${pgPort}, data in ${dataDir}` : "DATABASE_URL"}`,
      `  migrations applied now: ${applied.length ? applied.join(", ") : "none (up to date)"}`,
      `  admin: ${adminEmail} / ${env.ADMIN_PASSWORD ? "(ADMIN_PASSWORD)" : adminPassword}`,
      ...(env.SEED_DEMO === "0"
        ? []
        : [
            `  customer: ${demoCustomer.email} / ${demoCustomer.password} (${demoCustomer.creditCents / 100} EUR of store credit to spend)`,
          ]),
      `  emails: ${env.SES_ENDPOINT}${ses ? " (the SES emulator's inbox: open it in a browser)" : ""}`,
      `    stock manager: ${env.STOCK_MANAGER_EMAILS}; order operations: ${env.ORDER_OPS_EMAILS}`,
      `  browser pages allowed from: ${corsOrigins.join(", ") || "no other origin"} (${cors.originsEnv})`,
      seeded
        ? `  demo catalog: ${seeded} products loaded`
        : "  demo catalog: not loaded (database not empty or SEED_DEMO=0)",
      "  Ctrl-C or SIGTERM stops the server and Postgres; the data is kept for the next start.",
    ].join("\n"),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
