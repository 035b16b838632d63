import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
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

/**
 * A TCP proxy to the test database that, when armed, cuts the next new connection the way a
 * terminated backend does at the worst moment: the server's first ReadyForQuery and a FATAL 57P01
 * ErrorResponse reach the client in one network read, so the driver hands the new connection to
 * the pool's caller and reports its death in the same tick.
 */
async function startCuttingProxy(target: URL) {
  let armed = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const cut = armed;
    armed = false;
    const upstream = tcpConnect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on("error", () => {});
    upstream.on("error", () => {});
    client.pipe(upstream);
    let pending = Buffer.alloc(0);
    upstream.on("data", (chunk: Buffer) => {
      if (!cut) return void client.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      // Server messages: a type byte and an int32 length that counts itself. Whole messages are
      // passed on (authentication needs them) until the first ReadyForQuery.
      let at = 0;
      while (at + 5 <= pending.length) {
        const end = at + 1 + pending.readInt32BE(at + 1);
        if (end > pending.length) break;
        if (pending[at] === 0x5a /* Z: ReadyForQuery */) {
          client.end(Buffer.concat([pending.subarray(0, end), fatalTermination()]));
          upstream.destroy();
          return;
        }
        at = end;
      }
      client.write(pending.subarray(0, at));
      pending = pending.subarray(at);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(target);
  url.port = String((server.address() as { port: number }).port);
  url.hostname = "127.0.0.1";
  return {
    url: url.toString(),
    arm: () => {
      armed = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function fatalTermination(): Buffer {
  const fields = Buffer.concat(
    [
      ["S", "FATAL"],
      ["V", "FATAL"],
      ["C", "57P01"],
      ["M", "terminating connection due to administrator command"],
    ]
      .map(([k, v]) => Buffer.from(`${k}${v}\0`))
      .concat(Buffer.from("\0")),
  );
  const header = Buffer.alloc(5);
  header.write("E");
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

describe("a backend terminated under the database layer", () => {
  it("fails a transaction whose new connection dies in the same tick as it is handed over with SERVICE_UNAVAILABLE, does not crash the process, and serves the next one", async () => {
    // Prepare
    const proxy = await startCuttingProxy(new URL(t.url));
    const db = createDb({ url: proxy.url, max: 1 });
    try {
      proxy.arm();

      // Act
      const error = await db
        .transaction((tx) => tx.query("SELECT 1"))
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      const next = await db.transaction((tx) => tx.query<{ one: number }>("SELECT 1 AS one"));

      // Assess
      expect(uncaught).toEqual([]);
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe("SERVICE_UNAVAILABLE");
      expect(next.rows).toEqual([{ one: 1 }]);
    } finally {
      await db.end();
      await proxy.close();
    }
  });

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

describe("a statement's own error under the database layer", () => {
  const backendPid = async (db: ReturnType<typeof createDb>) =>
    (await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;

  it.each([
    [
      "a refusal raised by SQL (sold out)",
      "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = 'INSUFFICIENT_STOCK'; END $$",
      "INSUFFICIENT_STOCK",
    ],
    ["an error of the statement itself", "SELECT 1 / 0", "division by zero"],
  ])(
    "keeps the connection after %s: the next query runs on the same backend, with no new handshake",
    async (_, statement, expected) => {
      // Prepare
      const db = createDb({ url: t.url, max: 1 });
      try {
        const before = await backendPid(db);

        // Act
        const failure = await db.query(statement).catch((err: Error) => err);
        const after = await backendPid(db);

        // Assess
        expect(failure instanceof DomainError ? failure.code : String(failure)).toContain(expected);
        expect(after).toBe(before);
      } finally {
        await db.end();
      }
    },
  );

  it("still drops a connection whose backend was terminated during a statement, answering SERVICE_UNAVAILABLE", async () => {
    // Prepare
    const db = createDb({ url: t.url, max: 1 });
    try {
      const before = await backendPid(db);

      // Act: the statement's own backend ends it
      const failure = await db
        .query("SELECT pg_terminate_backend(pg_backend_pid())")
        .catch((err: Error) => err);
      const after = await backendPid(db);

      // Assess
      expect(failure).toBeInstanceOf(DomainError);
      expect((failure as DomainError).code).toBe("SERVICE_UNAVAILABLE");
      expect(after).not.toBe(before);
      expect(uncaught).toEqual([]);
    } finally {
      await db.end();
    }
  });
});
