import { createDb } from "@flashstock/core/db/index";
import { DomainError } from "@flashstock/core/error";
import { useDatabase } from "@flashstock/testing/database";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const t = useDatabase();

/** Errors that reached the process's top level: each one would have crashed a Node process. */
const uncaught: unknown[] = [];
const record = (err: unknown) => uncaught.push(err);
beforeEach(() => {
  uncaught.length = 0;
  process.on("uncaughtExceptionMonitor", record);
});
afterEach(() => {
  process.removeListener("uncaughtExceptionMonitor", record);
});

/** Terminates a backend from another session and waits until it is gone. */
async function terminate(pid: number) {
  await t.db.query("SELECT pg_terminate_backend($1)", [pid]);
  while ((await t.db.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid])).rowCount) {
    await new Promise((r) => setTimeout(r, 20));
  }
  // The client reads the termination notice from its socket on a later turn of the event loop.
  await new Promise((r) => setTimeout(r, 100));
}

describe("a backend terminated under the database layer", () => {
  it("fails a transaction whose backend was terminated between two queries with SERVICE_UNAVAILABLE, does not crash the process, and serves the next one", async () => {
    // Prepare
    const db = createDb({ url: t.url, max: 1 });
    try {
      // Act: the backend dies while the transaction's client is checked out and idle.
      const failed = db
        .transaction(async (tx) => {
          const { rows } = await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
          await terminate(rows[0]?.pid as number);
          await tx.query("SELECT 1");
        })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      const error = await failed;
      const next = await db.transaction((tx) => tx.query<{ one: number }>("SELECT 1 AS one"));

      // Assess
      expect(uncaught).toEqual([]);
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe("SERVICE_UNAVAILABLE");
      expect(next.rows).toEqual([{ one: 1 }]);
    } finally {
      await db.end();
    }
  });

  it("drops an idle pooled connection whose backend was terminated without crashing the process, and serves the next query", async () => {
    // Prepare
    const db = createDb({ url: t.url, max: 1 });
    try {
      const { rows } = await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");

      // Act
      await terminate(rows[0]?.pid as number);
      const next = await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");

      // Assess
      expect(uncaught).toEqual([]);
      expect(next.rows[0]?.pid).not.toBe(rows[0]?.pid);
    } finally {
      await db.end();
    }
  });
});
