/**
 * `npm run migrate -- --stage <stage>`: applies packages/core/migrations, then the SQL definitions
 * that changed (see core/src/db/migrate.ts), to a stage's database.
 * Never on a request path: a deploy runs it once, before the new functions take traffic.
 *
 * With --stage it re-runs itself under `sst shell --stage <stage>`, which makes the stage's links
 * active, so the DatabaseUrl secret is read through Resource as the functions read it. Without
 * --stage (CDK users, or any database) it reads DATABASE_URL.
 */
import { parseArgs } from "node:util";
import { createDb } from "@flashstock/core/db/index";
import { migrateSchema } from "@flashstock/core/db/migrate";
import { secret } from "../lib/config.ts";
import { enterStage, failWith } from "./stage.ts";

const USAGE = "usage: npm run migrate -- [--stage <stage>]   (without --stage: DATABASE_URL)";
const fail = failWith(USAGE);

async function main() {
  let stage: string | undefined;
  try {
    stage = parseArgs({ options: { stage: { type: "string" } } }).values.stage;
  } catch (err) {
    fail((err as Error).message);
  }
  enterStage(stage, fail);

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
