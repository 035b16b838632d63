import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, inject } from "vitest";
import { freePort } from "./ports.ts";
import { type RunningRuntime, startLocalRuntime } from "./runtime.ts";

export interface ShopRuntime {
  runtime: RunningRuntime;
  /** This file's own recipients, so that its emails can be told apart in the shared emulator. */
  stockManager: string;
  ops: string;
  /**
   * The `application_name` of every connection the runtime opens (it is on its DATABASE_URL): a
   * scenario that terminates backends picks the runtime's by it, and spares its own pool.
   */
  applicationName: string;
}

/**
 * For a test file: what `npm start` runs, with its consumers and relay, on the given database, in a
 * data directory of its own, sending its emails to the run's SES emulator. Started before the first
 * test (after the file's earlier beforeAll hooks, so `databaseUrl` may come from one); killed and
 * cleaned up after the last, if a test has not stopped it.
 */
export function useShopRuntime(
  databaseUrl: () => string,
  env: Record<string, string> = {},
): ShopRuntime {
  const id = Math.random().toString(36).slice(2, 10);
  const handle = {
    stockManager: `stock-${id}@example.com`,
    ops: `ops-${id}@example.com`,
    applicationName: `flashstock-runtime-${id}`,
  } as ShopRuntime;
  let dataDir: string | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "flashstock-runtime-"));
    // As root, the embedded Postgres user must be able to reach it.
    await chmod(dataDir, 0o755);
    const url = new URL(databaseUrl());
    url.searchParams.set("application_name", handle.applicationName);
    handle.runtime = await startLocalRuntime({
      DATA_DIR: dataDir,
      DATABASE_URL: url.toString(),
      PORT: String(await freePort()),
      SEED_DEMO: "0",
      SES_ENDPOINT: inject("sesEndpoint"),
      STOCK_MANAGER_EMAILS: handle.stockManager,
      ORDER_OPS_EMAILS: handle.ops,
      POWERTOOLS_LOG_LEVEL: "SILENT",
      ...env,
    });
  });
  afterAll(async () => {
    if (handle.runtime?.child.exitCode === null) handle.runtime.child.kill("SIGKILL");
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  return handle;
}
