import { randomBytes } from "node:crypto";
import { createDb } from "@flashstock/core/db/index";
import { migrate } from "@flashstock/core/db/migrate";
import { admin, databaseUrl } from "@flashstock/testing/database";
import { describe, expect, it } from "vitest";

describe("migrations", () => {
  it("apply every file once, even when two runners start at the same moment, and again are a no-op", async () => {
    // Prepare: an empty database.
    const name = `migrate_${randomBytes(6).toString("hex")}`;
    await admin((c) => c.query(`CREATE DATABASE ${name}`));
    const db = createDb({ url: databaseUrl(name), max: 4 });
    try {
      // Act
      const [first, second] = await Promise.all([migrate(db), migrate(db)]);
      const third = await migrate(db);

      // Assess
      const applied = [...(first ?? []), ...(second ?? [])];
      expect(applied).toContain("0001_storefront.sql");
      expect(new Set(applied).size).toBe(applied.length);
      expect(third).toEqual([]);
      const { rows } = await db.query("SELECT name FROM schema_migrations ORDER BY name");
      expect(rows.map((r) => r.name)).toEqual(applied.sort());
    } finally {
      await db.end();
      await admin((c) => c.query(`DROP DATABASE ${name} WITH (FORCE)`));
    }
  });
});
