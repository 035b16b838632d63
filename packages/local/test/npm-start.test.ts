import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type StoredEmail, storedEmails } from "@flashstock/local/ses";
import { checkedFetch } from "@flashstock/testing/http";
import { serverProcesses, untilGone } from "@flashstock/testing/own-postgres";
import { freePort } from "@flashstock/testing/ports";
import { startLocalRuntime } from "@flashstock/testing/runtime";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
const json = async (res: Response): Promise<any> => res.json();
const started: ChildProcess[] = [];
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** npm start with its own data directory and ports; the test's database and secret are not passed. */
async function start(env: Record<string, string>) {
  const runtime = await startLocalRuntime({ ...env, DATABASE_URL: "", JWT_SECRET: "" });
  started.push(runtime.child);
  return runtime;
}

/** JSON over HTTP, as a storefront sends it. */
async function send(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await checkedFetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await json(res) };
}

/**
 * Polls the SES emulator's store until `done` holds for the emails, or fails after 60 s: the
 * emails come within seconds on an idle machine, and a loaded one must not fail for it.
 */
async function waitForEmails(sesUrl: string, done: (emails: StoredEmail[]) => boolean) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const emails = await storedEmails(sesUrl);
    if (done(emails)) return emails;
    if (Date.now() > deadline) throw new Error(`emails so far: ${emails.map((e) => e.subject)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Resolves once the outbox relay (every 3 s locally) has run from start to end after every event in
 * the outbox was old enough for it (OUTBOX_RELAY_MIN_AGE_SECONDS, 5 s by default), so that it would
 * have published again anything the fast path had published and failed to mark. Watched in
 * pg_stat_activity, not slept for, because a loaded machine runs the schedule late: a run ends by
 * purging processed_events, and runs never overlap, so of two purges that start after that moment
 * the second ends a run that began after it. Fails after 60 s.
 */
async function untilRelayRanOverEveryEvent(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ since: string }>(
      `SELECT greatest(clock_timestamp(),
                       (SELECT max(occurred_at) FROM outbox) + interval '5 seconds')::text AS since`,
    );
    const since = rows[0]?.since;
    const purges = new Set<string>();
    const deadline = Date.now() + 60_000;
    while (purges.size < 2) {
      if (Date.now() > deadline) throw new Error(`no relay run ended after ${since} within 60 s`);
      await new Promise((r) => setTimeout(r, 50));
      const { rows: seen } = await client.query<{ at: string }>(
        `SELECT query_start::text AS at FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND query LIKE '%DELETE FROM processed_events%' AND query_start > $1::timestamptz`,
        [since],
      );
      for (const { at } of seen) purges.add(at);
    }
  } finally {
    await client.end();
  }
}

/** Whether something accepts TCP connections on the port (a refusal or no answer in 5 s: no). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port, timeout: 5_000 });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}

/** The parent's pid, from /proc: the postmaster's parent is the node process that started it. */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

/** The pids of the processes whose command line names the directory (a postmaster's `-D`). */
function processesNaming(dir: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Rejects with `what` once `ms` have passed without the promise settling. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * The real `npm start`, as a process manager runs it: in a session of its own (so a signal meant
 * for npm reaches npm alone), resolved once the runtime prints its URL.
 */
async function npmStart(env: Record<string, string>) {
  const npm = spawn("npm", ["start"], {
    cwd: repoRoot,
    env: { ...process.env, ...env, DATABASE_URL: "", JWT_SECRET: "" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  started.push(npm);
  let output = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once("exit", (code, signal) => resolve({ code, signal })),
  );
  npm.stderr.on("data", (d) => {
    output += d;
  });
  const url = await within(
    90_000,
    "npm start printing its URL",
    new Promise<string>((resolve, reject) => {
      npm.stdout.on("data", (d) => {
        output += d;
        const m = /running at (http:\/\/\S+)/.exec(output);
        if (m?.[1]) resolve(m[1]);
      });
      exited.then(({ code, signal }) =>
        reject(new Error(`exited (${code ?? signal}):\n${output}`)),
      );
    }),
  );
  return { npm, url, exited, output: () => output };
}

/** SIGKILL to each process still there, in order. */
function killAll(pids: number[]) {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  }
}

afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

/**
 * Each test initialises a Postgres data directory and starts the runtime once or twice: some 30 s
 * on a loaded 2-core machine, where 60 s left too little margin.
 */
const TIMEOUT_MS = 180_000;

describe("npm start (the local runtime)", { timeout: TIMEOUT_MS }, () => {
  it("serves the API on embedded Postgres, seeds a new database once, and keeps data across a restart", async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), "flashstock-start-"));
    await chmod(dataDir, 0o755);
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      PG_PORT: String(await freePort()),
      SES_PORT: String(await freePort()),
      WEB_PORT: String(await freePort()),
      POWERTOOLS_LOG_LEVEL: "SILENT",
    };
    try {
      // Act: first start
      const first = await start(env);
      const health = await checkedFetch(`${first.url}/health`);
      const products = await json(await checkedFetch(`${first.url}/products?limit=100`));
      const login = await checkedFetch(`${first.url}/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "admin@example.com", password: "admin-local-only" }),
      });
      const { token } = await json(login);
      const created = await checkedFetch(`${first.url}/products`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({
          sku: "KEEP-ME",
          name: "Kept",
          priceCents: 100,
          available: 3,
          minQuantity: 1,
        }),
      });
      const firstExit = await first.stop();

      // Act: second start on the same data directory
      const second = await start(env);
      const kept = await checkedFetch(`${second.url}/products/KEEP-ME`);
      const again = await json(await checkedFetch(`${second.url}/products?limit=100`));
      const stillValid = await checkedFetch(`${second.url}/inventory`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const secondExit = await second.stop();

      // Assess
      expect(health.status).toBe(200);
      expect(products.items.length).toBeGreaterThan(0);
      expect(login.status).toBe(200);
      expect(created.status).toBe(201);
      expect(firstExit).toBe(0);
      expect(kept.status).toBe(200);
      expect(again.items).toHaveLength(products.items.length + 1);
      expect(second.output()).toContain("demo catalog: not loaded");
      expect(stillValid.status).toBe(200);
      expect(secondExit).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("stops the runtime and Postgres cleanly when a process manager sends SIGTERM to npm alone, and the next start keeps the data", async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), "flashstock-sigterm-"));
    await chmod(dataDir, 0o755);
    const pgDir = join(dataDir, "postgres");
    const port = await freePort();
    const pgPort = await freePort();
    const env = {
      DATA_DIR: dataDir,
      PORT: String(port),
      PG_PORT: String(pgPort),
      SES_PORT: String(await freePort()),
      WEB_PORT: String(await freePort()),
      POWERTOOLS_LOG_LEVEL: "SILENT",
    };
    // What npm would leave running if it did not pass the signal on: killed at the end, the
    // postmaster first, so that it does not restart its children.
    let strays: number[] = [];
    try {
      const first = await npmStart(env);
      // The web UI is served beside the API and told where the API is.
      const webConfig = await fetch(`http://127.0.0.1:${env.WEB_PORT}/config.json`);
      expect(await webConfig.json()).toEqual({ apiUrl: first.url });
      const storefront = await fetch(`http://127.0.0.1:${env.WEB_PORT}/products/KEPT-1`);
      expect(await storefront.text()).toContain('<div id="app"></div>');
      const postgres = serverProcesses(pgDir);
      const runtime = parentOf(postgres.postmaster);
      strays = [postgres.postmaster, runtime, ...postgres.children];
      const login = await send(`${first.url}/auth/login`, "POST", {
        email: "admin@example.com",
        password: "admin-local-only",
      });
      const created = await send(
        `${first.url}/products`,
        "POST",
        { sku: "KEPT-1", name: "Kept", priceCents: 100, available: 3, minQuantity: 1 },
        { authorization: `Bearer ${login.body.token}` },
      );

      // Act: SIGTERM to the npm process only, not to its process group
      first.npm.kill("SIGTERM");
      const exit = await within(60_000, "npm exiting after SIGTERM", first.exited);
      const processesEnded = await within(
        30_000,
        "the runtime and Postgres ending",
        untilGone(strays),
      ).then(
        () => true,
        () => false,
      );
      if (processesEnded) strays = [];
      const apiListening = await listening(port);
      const webListening = await listening(Number(env.WEB_PORT));
      const postgresListening = await listening(pgPort);
      // Postgres removes its lock file at the end of a shutdown, never when it is killed.
      const lockFileLeft = existsSync(join(pgDir, "postmaster.pid"));
      const postgresLeft = processesNaming(pgDir);

      // Act: start again on the same data directory
      killAll(strays);
      await untilGone(strays);
      const second = await start(env);
      const kept = await checkedFetch(`${second.url}/products/KEPT-1`);
      const secondExit = await second.stop();

      // Assess
      expect(created.status).toBe(201);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(processesEnded).toBe(true);
      expect(apiListening).toBe(false);
      expect(webListening).toBe(false);
      expect(postgresListening).toBe(false);
      expect(lockFileLeft).toBe(false);
      expect(postgresLeft).toEqual([]);
      expect(first.output()).toContain("stopping...");
      expect(kept.status).toBe(200);
      expect(second.output()).toContain("migrations applied now: none");
      expect(secondExit).toBe(0);
    } finally {
      killAll(strays);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);

  it("stops cleanly when SIGTERM arrives while it is still starting: Postgres is not left running, and the next start works", async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), "flashstock-early-sigterm-"));
    await chmod(dataDir, 0o755);
    const pgDir = join(dataDir, "postgres");
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      PG_PORT: String(await freePort()),
      SES_PORT: String(await freePort()),
      WEB_PORT: String(await freePort()),
      POWERTOOLS_LOG_LEVEL: "SILENT",
    };
    const npm = spawn("npm", ["start"], {
      cwd: repoRoot,
      env: { ...process.env, ...env, DATABASE_URL: "", JWT_SECRET: "" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    started.push(npm);
    let output = "";
    npm.stdout.on("data", (d) => {
      output += d;
    });
    npm.stderr.on("data", (d) => {
      output += d;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      npm.once("exit", (code, signal) => resolve({ code, signal })),
    );
    let strays: number[] = [];
    try {
      // Act: SIGTERM as soon as the postmaster exists, long before migrations, the admin's
      // password hash and the seed are done.
      await within(
        90_000,
        "Postgres starting",
        (async () => {
          // initdb's single-user backend writes its pid negated: wait for the postmaster's.
          const lockFile = join(pgDir, "postmaster.pid");
          while (
            !(existsSync(lockFile) && Number(readFileSync(lockFile, "utf8").split("\n")[0]) > 0)
          ) {
            await new Promise((r) => setTimeout(r, 10));
          }
        })(),
      );
      const postgres = serverProcesses(pgDir);
      strays = [postgres.postmaster, parentOf(postgres.postmaster), ...postgres.children];
      npm.kill("SIGTERM");
      const exit = await within(60_000, "npm exiting after SIGTERM", exited);
      const processesEnded = await within(30_000, "Postgres ending", untilGone(strays)).then(
        () => true,
        () => false,
      );
      if (processesEnded) strays = [];
      const lockFileLeft = existsSync(join(pgDir, "postmaster.pid"));
      const second = await start(env);
      const health = await checkedFetch(`${second.url}/health`);
      const secondExit = await second.stop();

      // Assess: the signal came during startup, and startup stopped instead of finishing.
      expect(output).not.toContain("running at");
      expect(output).toContain("stopping...");
      expect(exit).toEqual({ code: 0, signal: null });
      expect(processesEnded).toBe(true);
      expect(lockFileLeft).toBe(false);
      expect(processesNaming(pgDir)).toEqual([]);
      expect(health.status).toBe(200);
      expect(secondExit).toBe(0);
    } finally {
      killAll(strays);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);

  it("puts exactly one low-stock and one out-of-stock email in the local inbox after a flash sale over HTTP, and reports a duplicate order to ops once", async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), "flashstock-start-"));
    await chmod(dataDir, 0o755);
    const sesPort = await freePort();
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      PG_PORT: String(await freePort()),
      SES_PORT: String(sesPort),
      SES_ENDPOINT: "",
      STOCK_MANAGER_EMAILS: "",
      ORDER_OPS_EMAILS: "",
      SEED_DEMO: "0",
      // Unset, so the runtime's own default (WARN) applies: a 409 is logged at INFO, and must not show.
      POWERTOOLS_LOG_LEVEL: "",
    };
    const sesUrl = `http://127.0.0.1:${sesPort}`;
    const shipTo = {
      name: "A",
      line1: "1 Road",
      city: "Paris",
      postalCode: "75001",
      country: "FR",
    };
    try {
      const app = await start(env);
      const api = (path: string) => `${app.url}${path}`;
      const admin = await send(api("/auth/login"), "POST", {
        email: "admin@example.com",
        password: "admin-local-only",
      });
      const auth = (token: string) => ({ authorization: `Bearer ${token}` });
      for (const [sku, available] of [
        ["FLASH-1", 5],
        ["STAPLE-1", 100],
      ] as const) {
        await send(
          api("/products"),
          "POST",
          { sku, name: "Flash Deal", priceCents: 999, available, minQuantity: 2 },
          auth(admin.body.token),
        );
      }
      const buy = async (token: string, sku = "FLASH-1") => {
        const cart = await send(api("/carts"), "POST", undefined, auth(token));
        await send(api(`/carts/${cart.body.id}/items/${sku}`), "PUT", { quantity: 1 }, auth(token));
        return send(
          api("/checkout"),
          "POST",
          {
            cartId: cart.body.id,
            shippingAddress: shipTo,
            payment: { method: "cash_on_delivery" },
          },
          { ...auth(token), "idempotency-key": `k-${cart.body.id}` },
        );
      };
      const buyers = await Promise.all(
        Array.from({ length: 7 }, (_, i) =>
          send(api("/auth/register"), "POST", {
            email: `buyer${i}@example.com`,
            password: "correct horse battery",
            name: `Buyer ${i}`,
          }).then((r) => r.body.token as string),
        ),
      );

      // Act: six buyers for five units; another buyer orders the same staple twice
      const sale = await Promise.all(buyers.slice(1).map((token) => buy(token)));
      const first = await buy(buyers[0] as string, "STAPLE-1");
      const repeat = await buy(buyers[0] as string, "STAPLE-1");
      const expected = (emails: StoredEmail[]) =>
        emails.filter((e) => e.subject.includes("(FLASH-1)")).length >= 2 &&
        emails.some((e) => e.destination.to.includes("order-ops@example.com"));
      await waitForEmails(sesUrl, expected);
      // Another relay run must add nothing: one that found every event of the sale old enough.
      // (The embedded Postgres's user and password are postgres/postgres, see local/src/postgres.ts.)
      await untilRelayRanOverEveryEvent(
        `postgres://postgres:postgres@127.0.0.1:${env.PG_PORT}/flashstock`,
      );
      const emails = await waitForEmails(sesUrl, expected);
      const exit = await app.stop();

      // Assess
      expect(sale.map((r) => r.status).sort()).toEqual([201, 201, 201, 201, 201, 409]);
      expect([first.body.status, repeat.body.status]).toEqual(["placed", "on_hold"]);
      expect(app.output()).not.toContain('"level":"INFO"');
      const opsMail = emails.filter((e) => e.destination.to.includes("order-ops@example.com"));
      expect(opsMail).toHaveLength(1);
      expect(opsMail[0]?.body.text).toContain(repeat.body.id);
      const alerts = emails.filter((e) => e.destination.to.includes("stock-manager@example.com"));
      expect(alerts.map((e) => e.subject).sort()).toEqual([
        "Low stock: Flash Deal (FLASH-1) - 1 left, minimum 2",
        "URGENT - Out of stock: Flash Deal (FLASH-1) - 0 left, minimum 2",
      ]);
      expect(exit).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
