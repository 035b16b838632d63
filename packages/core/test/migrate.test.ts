import { createDb } from "@flashstock/core/db/index";
import { migrate } from "@flashstock/core/db/migrate";
import { useEmptyDatabases } from "@flashstock/testing/database";
import { describe, expect, it } from "vitest";

const emptyDatabase = useEmptyDatabases("migrate");

describe("migrations", () => {
  it("apply every file once, even when two runners start at the same moment, and again are a no-op", async () => {
    // Prepare: an empty database.
    const db = createDb({ url: (await emptyDatabase()).url, max: 4 });
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
    }
  });
});
