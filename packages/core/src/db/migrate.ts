import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Db } from "./index.ts";

const migrationsDir = fileURLToPath(new URL("../../migrations/", import.meta.url));

/**
 * Applies the ordered SQL files in packages/core/migrations that are not yet recorded in
 * schema_migrations, all in one transaction (all or nothing). Safe to run twice and from two processes at once:
 * an advisory lock serialises runners, and applied files are skipped.
 */
export async function migrate(db: Db): Promise<string[]> {
  const files = (await readdir(migrationsDir)).filter((f) => f.endsWith(".sql")).sort();
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('flashstock.migrations'))");
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<{ name: string }>("SELECT name FROM schema_migrations");
    const applied = new Set(rows.map((r) => r.name));
    const newlyApplied: string[] = [];
    for (const file of files) {
      if (applied.has(file)) continue;
      await tx.query(await readFile(migrationsDir + file, "utf8"));
      await tx.query("INSERT INTO schema_migrations (name) VALUES ($1)", [file]);
      newlyApplied.push(file);
    }
    return newlyApplied;
  });
}
