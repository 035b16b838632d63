import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCart, setItem } from "@flashstock/core/cart/index";
import { placeOrder } from "@flashstock/core/checkout/index";
import { createDb, type Db, type Queryable } from "@flashstock/core/db/index";
import { migrate } from "@flashstock/core/db/migrate";
import { DomainError } from "@flashstock/core/error";
import { availableOf, countRows } from "@flashstock/testing/database";
import { address, createTestProduct, createUser } from "@flashstock/testing/fixtures";
import { freePort } from "@flashstock/testing/ports";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningPostgres, startEmbeddedPostgres } from "../src/postgres.ts";

// place_order commits without waiting for the WAL flush and placeOrder waits for it afterwards.
// These tests make that gap wide and certain: the WAL writer is paused (SIGSTOP) and the
// background writer may write no pages, so a commit reaches disk only when a backend flushes it.
// A server of this file's own, with fsync on, since it is crashed on purpose.
let root: string;
let options: Parameters<typeof startEmbeddedPostgres>[0];
let postgres: RunningPostgres;
let db: Db;
let pausedWalWriter: number | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "flashstock-crash-"));
  await chmod(root, 0o755);
  options = {
    dataDir: join(root, "postgres"),
    port: await freePort(),
    database: "flashstock",
    persistent: true,
    postgresFlags: ["-c", "bgwriter_lru_maxpages=0"],
  };
  postgres = await startEmbeddedPostgres(options);
  db = createDb({ url: postgres.url, max: 2 });
  await migrate(db);
  process.env.JWT_SECRET ??= "test-secret-that-is-at-least-32-characters-long";
});
afterAll(async () => {
  resumeWalWriter();
  await db?.end();
  await postgres?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

async function pauseWalWriter() {
  const { rows } = await db.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'",
  );
  pausedWalWriter = rows[0]?.pid as number;
  process.kill(pausedWalWriter, "SIGSTOP");
}

function resumeWalWriter() {
  if (pausedWalWriter === undefined) return;
  try {
    process.kill(pausedWalWriter, "SIGCONT");
  } catch {
    // Gone with a crash.
  }
  pausedWalWriter = undefined;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Postgres's processes: the postmaster and its children, read from /proc. */
function serverProcesses(): number[] {
  const postmaster = Number(
    readFileSync(join(options.dataDir, "postmaster.pid"), "utf8").split("\n")[0],
  );
  const children = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        // "pid (comm) state ppid ...": the command name may hold spaces, so split after it.
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [...children, postmaster];
}

/**
 * A power cut as far as Postgres can tell: every server process SIGKILLed at once, so that what
 * sat in its WAL buffers is gone. Then the server is started again on the same port; recovery
 * replays only what reached disk.
 */
async function crashAndRestart() {
  const pids = serverProcesses();
  for (const pid of pids) process.kill(pid, "SIGKILL");
  pausedWalWriter = undefined;
  while (pids.some(isAlive)) await new Promise((r) => setTimeout(r, 20));
  postgres = await startEmbeddedPostgres(options);
}

async function cartOf(units: number) {
  const buyer = await createUser(db);
  const product = await createTestProduct(db, { available: 5 });
  const cart = await createCart(db, buyer.principal);
  await setItem(db, cart.id, product.sku, { quantity: units }, buyer.principal);
  return { buyer, sku: product.sku, cartId: cart.id };
}

describe("an order is confirmed only once it is on disk", () => {
  it("answers 503 SERVICE_UNAVAILABLE, not the order, when Postgres crashes between the checkout's commit and its flush, and the retry with the same key places it", async () => {
    // Prepare: the checkout's connection sees the server crash and come back just before the
    // flush, as a pool that reconnects would.
    const { buyer, sku, cartId } = await cartOf(2);
    const key = randomUUID();
    const crashingBeforeFlush: Queryable = {
      async query(text, values) {
        if (!text.includes("place_order")) await crashAndRestart();
        return db.query(text, values);
      },
    };
    await pauseWalWriter();

    // Act
    const outcome = await placeOrder(
      crashingBeforeFlush,
      buyer.principal,
      key,
      { cartId, shippingAddress: address },
      { duplicateWindowMinutes: 30 },
    ).then(
      ({ order }) => `confirmed ${order.id}`,
      (e: unknown) => (e instanceof DomainError ? `${e.kind} ${e.code}` : String(e)),
    );
    const ordersAfterCrash = await countRows(db, "orders WHERE cart_id = $1", [cartId]);
    const availableAfterCrash = await availableOf(db, sku);
    const retry = await placeOrder(
      db,
      buyer.principal,
      key,
      { cartId, shippingAddress: address },
      { duplicateWindowMinutes: 30 },
    );

    // Assess: the crash took the commit (or this proved nothing), and the client was told so.
    expect(ordersAfterCrash).toBe(0);
    expect(availableAfterCrash).toBe(5);
    expect(outcome).toBe("unavailable SERVICE_UNAVAILABLE");
    expect(retry.replayed).toBe(false);
    expect(retry.order.status).toBe("placed");
    expect(await countRows(db, "orders WHERE cart_id = $1", [cartId])).toBe(1);
    expect(await availableOf(db, sku)).toBe(3);
  });

  it("keeps an order it confirmed through a crash right after the confirmation", async () => {
    // Prepare
    const { buyer, sku, cartId } = await cartOf(1);
    await pauseWalWriter();

    // Act
    const { order } = await placeOrder(
      db,
      buyer.principal,
      randomUUID(),
      { cartId, shippingAddress: address },
      { duplicateWindowMinutes: 30 },
    );
    await crashAndRestart();

    // Assess
    expect(await countRows(db, "orders WHERE id = $1", [order.id])).toBe(1);
    expect(await availableOf(db, sku)).toBe(4);
  });
});
