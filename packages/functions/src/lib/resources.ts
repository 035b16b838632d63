import { Logger } from "@aws-lambda-powertools/logger";
import { createDb, type Db } from "@flashstock/core/db/index";
import { config } from "./config.ts";

export const logger = new Logger({ serviceName: "flashstock" });

// One pool per Lambda instance (or per local process), created on first use and kept warm.
let pool: Db | undefined;

export function db(): Db {
  if (!pool) {
    const c = config();
    pool = createDb({ url: c.databaseUrl, driver: c.databaseDriver, max: c.dbPoolMax });
  }
  return pool;
}

/** For the local runtime and tests: close the pool so the process (or the database) can stop. */
export async function closeDb(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.end();
}
