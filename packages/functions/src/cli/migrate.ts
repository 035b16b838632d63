/**
 * `npm run migrate -- --stage <stage>`: applies packages/core/migrations, then the SQL definitions
 * that changed (see core/src/db/migrate.ts), to a stage's database.
 * Never on a request path: a deploy runs it once, before the new functions take traffic.
 *
 * With --stage it re-runs itself under `sst shell --stage <stage>`, which makes the stage's links
 * active, so the DatabaseUrl secret is read through Resource as the functions read it. Without
 * --stage (CDK users, or any database) it reads DATABASE_URL.
 */
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { createDb } from "@flashstock/core/db/index";
import { migrateSchema } from "@flashstock/core/db/migrate";
import { Resource } from "sst/resource";
import { secret } from "../lib/config.ts";

const USAGE = "usage: npm run migrate -- [--stage <stage>]   (without --stage: DATABASE_URL)";

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** The stage SST links are active for, if any (SST sets SST_RESOURCE_App in `sst shell`). */
function linkedStage(): string | undefined {
  if (!("App" in Resource)) return undefined;
  return (Resource as unknown as { App: { stage?: string } }).App.stage;
}

async function main() {
  let stage: string | undefined;
  try {
    stage = parseArgs({ options: { stage: { type: "string" } } }).values.stage;
  } catch (err) {
    fail((err as Error).message);
  }
  if (stage !== undefined && !/^[a-z][a-z0-9-]*$/i.test(stage)) fail(`Bad stage name: "${stage}"`);

  const linked = linkedStage();
  if (stage && linked === undefined) {
    const run = spawnSync(
      "npx",
      [
        "sst",
        "shell",
        "--stage",
        stage,
        "--",
        process.execPath,
        ...process.execArgv,
        ...process.argv.slice(1),
      ],
      { stdio: "inherit" },
    );
    process.exit(run.status ?? 1);
  }
  if (stage && linked !== stage) fail(`SST links are for stage "${linked}", not "${stage}"`);

  // TCP with TLS works against Neon too, and DDL gains nothing from WebSockets.
  const db = createDb({ url: secret("DatabaseUrl"), driver: "pg", max: 1 });
  try {
    const { migrations, definitions } = await migrateSchema(db);
    const where = stage ? `stage ${stage}` : "DATABASE_URL";
    if (migrations.length === 0 && definitions.length === 0) console.log(`${where}: up to date`);
    if (migrations.length > 0) {
      console.log(`${where}: applied ${migrations.length} migration(s): ${migrations.join(", ")}`);
    }
    if (definitions.length > 0) {
      console.log(
        `${where}: (re)defined ${definitions.length} SQL function(s): ${definitions.join(", ")}`,
      );
    }
  } finally {
    await db.end();
  }
}

main().catch((err) => {
  console.error(`migrate failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
