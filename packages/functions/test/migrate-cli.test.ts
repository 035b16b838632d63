/**
 * `npm run migrate`, run as developers run it (a child process), against real databases on the test
 * server: from DATABASE_URL, and from a stage's DatabaseUrl secret through SST links, as
 * `sst shell --stage <stage>` provides them (the SST CLI itself cannot run here).
 */
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { runCommand } from "@flashstock/testing/command";
import { admin, databaseUrl } from "@flashstock/testing/database";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";

const migrationFiles = readdirSync(new URL("../../core/migrations/", import.meta.url))
  .filter((f) => f.endsWith(".sql"))
  .sort();

const created: string[] = [];

async function emptyDatabase(): Promise<string> {
  const name = `migrate_${randomBytes(5).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  created.push(name);
  return databaseUrl(name);
}

afterAll(async () => {
  for (const name of created) {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
});

function runMigrate(args: string[], env: Record<string, string | undefined>) {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  for (const key of Object.keys(childEnv)) {
    if (key.startsWith("SST_RESOURCE_") && !(key in env)) delete childEnv[key];
  }
  if (!("DATABASE_URL" in env)) delete childEnv.DATABASE_URL;
  return runCommand(
    process.execPath,
    ["--import", "tsx", "packages/functions/src/cli/migrate.ts", ...args],
    childEnv as NodeJS.ProcessEnv,
  );
}

async function tablesOf(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    );
    return rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

describe("npm run migrate", () => {
  it("migrates the database DATABASE_URL names, and a second run finds it up to date", async () => {
    // Prepare
    const url = await emptyDatabase();

    // Act
    const first = await runMigrate([], { DATABASE_URL: url });
    const second = await runMigrate([], { DATABASE_URL: url });

    // Assess
    expect(first.out).toContain(
      `DATABASE_URL: applied ${migrationFiles.length} migration(s): ${migrationFiles.join(", ")}`,
    );
    expect(first.code).toBe(0);
    expect(second.out).toContain("DATABASE_URL: up to date");
    expect(await tablesOf(url)).toEqual(
      expect.arrayContaining(["orders", "outbox", "products", "stock", "stock_movements"]),
    );
  });

  it("with --stage, reads the stage's DatabaseUrl secret through SST links, not DATABASE_URL", async () => {
    // Prepare
    const url = await emptyDatabase();
    const links = {
      SST_RESOURCE_App: JSON.stringify({ name: "flashstock", stage: "ann" }),
      SST_RESOURCE_DatabaseUrl: JSON.stringify({ type: "sst.sst.Secret", value: url }),
      DATABASE_URL: "postgresql://nobody@127.0.0.1:1/not-this-one",
    };

    // Act
    const result = await runMigrate(["--stage", "ann"], links);

    // Assess
    expect(result.out).toContain(`stage ann: applied ${migrationFiles.length} migration(s)`);
    expect(result.code).toBe(0);
    expect(await tablesOf(url)).toContain("outbox");
  });

  it("refuses to migrate a stage other than the one SST links are active for", async () => {
    // Prepare
    const url = await emptyDatabase();
    const links = {
      SST_RESOURCE_App: JSON.stringify({ name: "flashstock", stage: "ann" }),
      SST_RESOURCE_DatabaseUrl: JSON.stringify({ value: url }),
    };

    // Act
    const result = await runMigrate(["--stage", "production"], links);

    // Assess
    expect(result.code).toBe(2);
    expect(result.out).toContain('SST links are for stage "ann", not "production"');
    expect(await tablesOf(url)).toEqual([]);
  });

  it.each([[["--stag", "ann"]], [["--stage", "../prod"]]])(
    "answers bad arguments %j with exit code 2 and the usage",
    async (args) => {
      // Act
      const result = await runMigrate(args, {});

      // Assess
      expect(result.code).toBe(2);
      expect(result.out).toContain("usage: npm run migrate");
    },
  );

  it("fails with exit code 1 and a message, not a stack, when no database is configured", async () => {
    // Act
    const result = await runMigrate([], {});

    // Assess
    expect(result.code).toBe(1);
    expect(result.out).toContain("Missing configuration: environment variable DATABASE_URL");
  });
});
