import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Db, Queryable } from "./types.ts";

const migrationsDir = fileURLToPath(new URL("../../migrations/", import.meta.url));
const sourceDir = fileURLToPath(new URL("../", import.meta.url));

/**
 * The SQL functions, each in the folder of the domain it belongs to (paths from packages/core/src),
 * in the order they are applied: a function written in LANGUAGE sql is checked against what exists
 * when it is created, so what it calls comes first. Flyway calls these "repeatable" migrations.
 */
export const definitionFiles = [
  "db/flush_committed_wal.sql",
  "events/outbox_event.sql",
  "events/events_of_current_transaction.sql",
  "inventory/apply_stock_delta.sql",
  "inventory/set_min_quantity.sql",
  "payment/apply_wallet_delta.sql",
  "order/order_lines_json.sql",
  "order/order_json.sql",
  "order/order_event_data.sql",
  "order/units_held.sql",
  "promotion/promotion_discount.sql",
  "promotion/promotion_uses.sql",
  "promotion/promotion_refusal.sql",
  "checkout/durable_orders.sql",
  "checkout/place_order.sql",
  "checkout/place_order_durably.sql",
] as const;

export interface MigrationReport {
  /** Numbered migrations applied by this run, in order. */
  migrations: string[];
  /** Definition files applied by this run, in order. */
  definitions: string[];
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Brings a database to the current schema, in one transaction (all or nothing):
 *
 * 1. the numbered files of packages/core/migrations not yet recorded in schema_migrations, in
 *    order: tables, indexes, constraints, data moves, and DROP FUNCTION where a signature changes;
 * 2. then every definition file whose text differs from the one recorded in schema_definitions
 *    (by SHA-256), in the declared order; all of them after a run that applied a migration, which
 *    may have dropped or changed what they rely on.
 *
 * Safe to run twice and from two processes at once: an advisory lock serialises runners, and what
 * is recorded is skipped.
 */
export async function migrateSchema(db: Db): Promise<MigrationReport> {
  const migrationFiles = (await readdir(migrationsDir)).filter((f) => f.endsWith(".sql")).sort();
  const definitions = await Promise.all(
    definitionFiles.map(async (name) => {
      const text = await readFile(sourceDir + name, "utf8");
      return { name, text, hash: sha256(text) };
    }),
  );
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('flashstock.migrations'))");
    const migrations = await applyMigrations(tx, migrationFiles);
    const applied = await applyDefinitions(tx, definitions, { all: migrations.length > 0 });
    return { migrations, definitions: applied };
  });
}

/** The numbered migrations this run applied (what `npm run migrate` and `npm start` report). */
export async function migrate(db: Db): Promise<string[]> {
  return (await migrateSchema(db)).migrations;
}

async function applyMigrations(tx: Queryable, files: string[]): Promise<string[]> {
  await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rows } = await tx.query<{ name: string }>("SELECT name FROM schema_migrations");
  const done = new Set(rows.map((r) => r.name));
  const applied: string[] = [];
  for (const file of files) {
    if (done.has(file)) continue;
    await tx.query(await readFile(migrationsDir + file, "utf8"));
    await tx.query("INSERT INTO schema_migrations (name) VALUES ($1)", [file]);
    applied.push(file);
  }
  return applied;
}

async function applyDefinitions(
  tx: Queryable,
  definitions: { name: string; text: string; hash: string }[],
  options: { all: boolean },
): Promise<string[]> {
  await tx.query(`CREATE TABLE IF NOT EXISTS schema_definitions (
    name text PRIMARY KEY,
    sha256 text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rows } = await tx.query<{ name: string; sha256: string }>(
    "SELECT name, sha256 FROM schema_definitions",
  );
  const recorded = new Map(rows.map((r) => [r.name, r.sha256]));
  const applied: string[] = [];
  for (const { name, text, hash } of definitions) {
    if (!options.all && recorded.get(name) === hash) continue;
    await tx.query(text);
    await tx.query(
      `INSERT INTO schema_definitions (name, sha256) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now()`,
      [name, hash],
    );
    applied.push(name);
  }
  // A file that left the list is no definition any more (a migration dropped its function).
  await tx.query("DELETE FROM schema_definitions WHERE name <> ALL($1::text[])", [
    definitions.map((d) => d.name),
  ]);
  return applied;
}
