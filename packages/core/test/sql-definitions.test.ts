/**
 * Where the SQL lives, and what migrate() does with it: numbered migrations hold tables and data
 * moves; every function is defined once, in a file beside its domain, and applied whenever its text
 * changes. A database made before that layout upgrades to it with nothing lost.
 */
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import * as Cart from "@flashstock/core/cart/index";
import { placeOrder } from "@flashstock/core/checkout/index";
import { createDb, type Db } from "@flashstock/core/db/index";
import { definitionFiles, migrateSchema } from "@flashstock/core/db/migrate";
import { cancelOrder } from "@flashstock/core/order/index";
import {
  expectLedgerConsistent,
  useDatabase,
  useEmptyDatabases,
} from "@flashstock/testing/database";
import { address } from "@flashstock/testing/fixtures";
import { afterAll, describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const migrationFiles = readdirSync(join(repo, "packages/core/migrations"))
  .filter((f) => f.endsWith(".sql"))
  .sort();
const coreSrc = join(repo, "packages/core/src");

/** Every text file of the repository a reader could meet, with its path from the root. */
function repositoryFiles(dir = repo): string[] {
  const skipped = new Set(["node_modules", ".git", ".data", "results"]);
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (skipped.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return repositoryFiles(path);
    return /\.(sql|ts|md|json)$/.test(entry.name) ? [relative(repo, path)] : [];
  });
}

const CREATE_STATEMENT =
  /\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE|TRIGGER|VIEW)\s+(\w+)/gi;

/** The schema as Postgres describes it: columns, constraints, indexes and function definitions. */
async function describeSchema(db: Db): Promise<Record<string, string[]>> {
  const { rows } = await db.query<Record<string, string[]>>(`SELECT
    (SELECT array_agg(x ORDER BY x) FROM (
       SELECT concat_ws(' ', table_name, ordinal_position, column_name, data_type, is_nullable,
                        column_default) AS x
         FROM information_schema.columns WHERE table_schema = 'public') c) AS columns,
    (SELECT array_agg(x ORDER BY x) FROM (
       SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS x
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace) c) AS constraints,
    (SELECT array_agg(indexdef ORDER BY indexdef) FROM pg_indexes
      WHERE schemaname = 'public') AS indexes,
    (SELECT array_agg(pg_get_functiondef(oid) ORDER BY proname) FROM pg_proc
      WHERE pronamespace = 'public'::regnamespace) AS functions`);
  return rows[0] as Record<string, string[]>;
}

/** Row count and a digest of every row of every table but migrate()'s own records. */
/** Every table but migrate()'s own records, with its columns. */
async function tableColumns(db: Db): Promise<Record<string, string[]>> {
  const { rows } = await db.query<{ name: string; columns: string[] }>(
    `SELECT table_name AS name, array_agg(column_name::text ORDER BY ordinal_position) AS columns
       FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name NOT IN ('schema_definitions', 'schema_migrations')
      GROUP BY table_name`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.columns]));
}

/**
 * Row count and a digest of every row of the given tables, over the given columns only: what a
 * database held before an upgrade, compared with what the same rows hold after it (which may add
 * columns and tables).
 */
async function everyRow(
  db: Db,
  columns: Record<string, string[]>,
): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const [name, cols] of Object.entries(columns)) {
    const row = `row(${cols.map((c) => `t.${c}`).join(", ")})::text`;
    const { rows } = await db.query<{ digest: string }>(
      `SELECT count(*) || ' rows ' || md5(coalesce(string_agg(${row}, '|' ORDER BY ${row}), ''))
         AS digest FROM ${name} t`,
    );
    digests[name] = rows[0]?.digest as string;
  }
  return digests;
}

describe("SQL definitions", () => {
  it("defines each SQL function, procedure, trigger and view in exactly one file: its own, in its domain's folder, listed for migrate()", () => {
    // Prepare
    const files = repositoryFiles();

    // Act
    const definedIn = new Map<string, string[]>();
    for (const file of files) {
      for (const match of readFileSync(join(repo, file), "utf8").matchAll(CREATE_STATEMENT)) {
        const name = (match[1] as string).toLowerCase();
        definedIn.set(name, [...new Set([...(definedIn.get(name) ?? []), file])]);
      }
    }
    const sqlInSource = files.filter(
      (f) => f.startsWith("packages/core/src/") && f.endsWith(".sql"),
    );

    // Assess
    expect(definedIn.size).toBe(definitionFiles.length);
    for (const [name, where] of definedIn) {
      expect(where, name).toHaveLength(1);
      expect(where[0], name).toMatch(new RegExp(`^packages/core/src/\\w+/${name}\\.sql$`));
    }
    expect(sqlInSource.map((f) => relative("packages/core/src", f)).sort()).toEqual(
      [...definitionFiles].sort(),
    );
  });

  it("keeps every definition re-runnable: CREATE OR REPLACE, one statement to a file", () => {
    for (const name of definitionFiles) {
      // Act
      const text = readFileSync(join(coreSrc, name), "utf8");
      const creates = [...text.matchAll(CREATE_STATEMENT)].map((m) => m[0]);

      // Assess
      expect(creates, name).toHaveLength(1);
      expect(creates[0], name).toMatch(/^CREATE\s+OR\s+REPLACE\s/i);
    }
  });
});

describe("migrate()", () => {
  const emptyDatabase = useEmptyDatabases("definitions");
  const current = useDatabase();
  const opened: Db[] = [];
  const open = (url: string) => {
    const db = createDb({ url, max: 2 });
    opened.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of opened) await db.end();
  });

  it("applies every definition to a new database after the migrations, and nothing on the next run", async () => {
    // Prepare
    const db = open((await emptyDatabase()).url);

    // Act
    const first = await migrateSchema(db);
    const second = await migrateSchema(db);

    // Assess
    expect(first.migrations.length).toBeGreaterThan(0);
    expect(first.definitions).toEqual([...definitionFiles]);
    expect(second).toEqual({ migrations: [], definitions: [] });
    expect(await describeSchema(db)).toEqual(await describeSchema(current.db));
  });

  it("applies a definition again when its text differs from the recorded one, and only that one", async () => {
    // Prepare: the database last saw another version of one file.
    const db = open((await emptyDatabase()).url);
    await migrateSchema(db);
    await db.query("UPDATE schema_definitions SET sha256 = 'older' WHERE name = $1", [
      "inventory/apply_stock_delta.sql",
    ]);

    // Act
    const report = await migrateSchema(db);

    // Assess
    expect(report).toEqual({ migrations: [], definitions: ["inventory/apply_stock_delta.sql"] });
  });

  it("upgrades a database made before the definitions left the migrations, with its data, to exactly the current schema, losing nothing, and it keeps working", async () => {
    // Prepare: the database as main left it (see fixtures/README.md), rebuilt row for row.
    const db = open((await emptyDatabase()).url);
    const fixture = new URL("./fixtures/old-database.sql.gz", import.meta.url);
    await db.query(gunzipSync(readFileSync(fixture)).toString("utf8"));
    const columnsBefore = await tableColumns(db);
    const rowsBefore = await everyRow(db, columnsBefore);

    // Act
    const report = await migrateSchema(db);

    // Assess: only the migrations made since ran, every definition replaced its old version, no
    // row lost or changed in what it held, and the schema is the one a new database gets.
    expect(report).toEqual({
      migrations: migrationFiles.filter((f) => f > "0003_durable_orders.sql"),
      definitions: [...definitionFiles],
    });
    expect(await everyRow(db, columnsBefore)).toEqual(rowsBefore);
    expect(Number(rowsBefore.orders?.split(" ")[0])).toBeGreaterThan(0);
    expect(await describeSchema(db)).toEqual(await describeSchema(current.db));

    // Act: the old data under the new code: an old order cancelled, a new one placed.
    const { rows } = await db.query<{ id: string; customer: string }>(
      `SELECT id, customer_id AS customer FROM orders WHERE status = 'placed'
        ORDER BY created_at LIMIT 1`,
    );
    const old = rows[0] as { id: string; customer: string };
    const cancelled = await cancelOrder(db, old.id, { userId: old.customer, role: "customer" });
    const buyer = { userId: old.customer, role: "customer" as const };
    const cart = await Cart.createCart(db, buyer);
    await Cart.setItem(db, cart.id, "MUG-LOGO", { quantity: 2 }, buyer);
    const placed = await placeOrder(
      db,
      buyer,
      randomUUID(),
      { cartId: cart.id, shippingAddress: address, payment: { method: "cash_on_delivery" } },
      { duplicateWindowMinutes: 30, cardPayments: false },
    );

    // Assess
    expect(cancelled.status).toBe("cancelled");
    expect(placed.order.status).toBe("placed");
    await expectLedgerConsistent(db);
  });
});
