import { DomainError, isErrorCode, serviceUnavailable } from "../error.ts";
import type { Db, DbConfig, NeonOptions, Queryable, QueryResult } from "./types.ts";

export type { Db, DbConfig, NeonOptions, Queryable, QueryResult } from "./types.ts";

/** bigint columns (money) hold values far below 2^53: read them as numbers, not strings. */
const INT8 = 20;
const readInt8AsNumber = (v: string) => Number(v);

interface PoolLike {
  query(text: string, values?: unknown[]): Promise<QueryResult<never>>;
  connect(callback: (err: Error | undefined, client: PoolClientLike | undefined) => void): void;
  end(): Promise<void>;
  on(event: "error", listener: (err: Error) => void): unknown;
}
interface PoolClientLike {
  query(text: string, values?: unknown[]): Promise<QueryResult<never>>;
  release(err?: Error | boolean): void;
  on(event: "error", listener: (err: Error) => void): unknown;
  removeListener(event: "error", listener: (err: Error) => void): unknown;
}

type PoolOptions = {
  connectionString: string;
  max: number;
  idleTimeoutMillis: number;
  connectionTimeoutMillis: number;
};

/**
 * Loads only the driver in use. A Lambda bundle is built with FLASHSTOCK_BUNDLED_DRIVER defined
 * (see the bundler), so that the other driver's import is dead code and stays out of the bundle:
 * the Neon driver alone is 140 KB minified, node-postgres 80 KB.
 */
async function openPool(
  driver: "pg" | "neon",
  options: PoolOptions,
  proxy?: NeonOptions,
): Promise<PoolLike> {
  // process.env.FLASHSTOCK_BUNDLED_DRIVER is spelt out in each condition: the bundler replaces it
  // with a string literal, and only a literal comparison is folded away.
  if (driver === "neon" && process.env.FLASHSTOCK_BUNDLED_DRIVER !== "pg") {
    const neon = await import("@neondatabase/serverless");
    neon.types.setTypeParser(INT8, readInt8AsNumber);
    const pool = new neon.Pool(options);
    if (proxy) {
      // Set on this pool's clients, not on the driver's global neonConfig. Pipelining is off: it
      // sends the password before the server asks, which only Neon's own proxy accepts.
      const settings = {
        wsProxy: proxy.wsProxy,
        useSecureWebSocket: proxy.secure ?? true,
        pipelineConnect: false as const,
        pipelineTLS: false,
      };
      pool.Client = class extends neon.Client {
        constructor(config?: ConstructorParameters<typeof neon.Client>[0]) {
          super(config);
          Object.assign(this.neonConfig, settings);
        }
      };
    }
    return pool as unknown as PoolLike;
  }
  if (driver === "pg" && process.env.FLASHSTOCK_BUNDLED_DRIVER !== "neon") {
    const { default: pg } = await import("pg");
    pg.types.setTypeParser(INT8, readInt8AsNumber);
    return new pg.Pool(options) as unknown as PoolLike;
  }
  throw new Error(`This bundle holds one database driver only, not ${driver}`);
}

export function createDb(config: DbConfig): Db {
  const pool = openPool(
    config.driver ?? "pg",
    {
      connectionString: config.url,
      max: config.max ?? 10,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 10_000,
    },
    config.neon,
  ).then((p) => {
    // A backend killed under an idle client must not crash the process; the pool drops the client.
    p.on("error", () => {});
    return p;
  });

  return {
    // Not pool.query: it releases its client with the statement's error, and the pool then
    // destroys the connection. Every refusal raised by SQL (sold out, a closed cart) would cost a
    // new connection, the next request paying for its TCP and SCRAM handshake (about 45 ms here,
    // more to Neon across a network). A statement's error leaves its connection fine.
    query: async (text, values) => {
      const p = await pool;
      const { client, release } = await translateErrors(() => lease(p));
      let broken: Error | undefined;
      try {
        return await translateErrors(() => client.query(text, values));
      } catch (err) {
        if (!leavesConnectionUsable(err)) broken = err as Error;
        throw err;
      } finally {
        release(broken);
      }
    },
    transaction: async (work) => {
      const p = await pool;
      return withRetry(() => runTransaction(p, work));
    },
    end: async () => (await pool).end(),
  };
}

/** A checked-out client that hears its own errors. */
interface Lease {
  client: PoolClientLike;
  /** Back to the pool, or destroyed when the connection failed (`broken`, or an error heard). */
  release(broken?: Error): void;
}

/**
 * The pool listens for errors on idle clients only. A checked-out client whose backend goes away
 * (terminated, the server restarting) emits 'error', and an 'error' nobody hears crashes the
 * process. So the listener goes on in the pool's own callback, in the same tick as the hand-over:
 * a termination notice can arrive in the same network read as a new connection's ReadyForQuery,
 * and is then emitted before any promise continuation could attach a listener.
 */
function lease(pool: PoolLike): Promise<Lease> {
  return new Promise((resolve, reject) => {
    pool.connect((err, client) => {
      if (err || !client) return reject(err ?? new Error("The pool returned no client"));
      let lost: Error | undefined;
      const onError = (e: Error) => {
        lost ??= e;
      };
      client.on("error", onError);
      resolve({
        client,
        release: (broken) => {
          const failure = broken ?? lost;
          // A destroyed client keeps the listener (its socket may still report its end).
          if (!failure) client.removeListener("error", onError);
          client.release(failure);
        },
      });
    });
  });
}

/**
 * Something that must act on a transaction just before its COMMIT and again once it has committed:
 * the outbox registers one, to hand a transaction's events on for publishing (events/outbox.ts).
 * This module knows nothing of what observers do.
 */
export interface CommitObserver {
  /**
   * Called inside the transaction, after its work, before COMMIT. What it returns is called once
   * COMMIT has succeeded; undefined when it has nothing to do for this transaction.
   */
  beforeCommit(tx: Queryable): Promise<(() => void) | undefined>;
}
const observers: CommitObserver[] = [];

export function observeCommits(observer: CommitObserver): void {
  observers.push(observer);
}

async function runTransaction<T>(pool: PoolLike, work: (tx: Queryable) => Promise<T>): Promise<T> {
  // An error heard on the client fails the transaction's next query (a 503), and the client is
  // destroyed on release, not returned to the pool.
  const { client, release } = await translateErrors(() => lease(pool));
  let broken: Error | undefined;
  try {
    await translateErrors(() => client.query("BEGIN"));
    const tx: Queryable = {
      query: (text, values) => translateErrors(() => client.query(text, values)),
    };
    const result = await work(tx);
    const afterCommit = [];
    for (const observer of observers) afterCommit.push(await observer.beforeCommit(tx));
    await translateErrors(() => client.query("COMMIT"));
    for (const committed of afterCommit) committed?.();
    return result;
  } catch (err) {
    try {
      await client.query("ROLLBACK");
    } catch (rollbackError) {
      broken = rollbackError as Error;
    }
    throw err;
  } finally {
    release(broken);
  }
}

const retryable = new Set(["40001", "40P01"]);

/** Serialization failures and deadlocks are the database asking for a retry: never the client's problem. */
async function withRetry<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      if (attempt >= attempts || !code || !retryable.has(code)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}

/**
 * Whether the connection a statement failed on can serve the next one: the server answered with
 * an error of the statement (the registry's codes raised by SQL, a constraint, a bad input), not
 * one of the connection (terminated, restarting, a network failure).
 */
function leavesConnectionUsable(err: unknown): boolean {
  if (err instanceof DomainError) return err.code !== "SERVICE_UNAVAILABLE";
  const code = (err as { code?: string }).code;
  return (
    code !== undefined &&
    /^[0-9A-Z]{5}$/.test(code) &&
    !unavailableCodes.has(code) &&
    !code.startsWith("08")
  );
}

/** SQL raises the registry's codes with SQLSTATE FS + the code's status, e.g. FS409 CART_CLOSED. */
const raisedBySql = /^FS\d{3}$/;

/** Connection-level failures: the request did not reach a verdict, the client may retry. */
const unavailableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "57P01", // admin_shutdown: backend terminated
  "57P02",
  "57P03", // cannot_connect_now: the server is starting or stopping
  "53300", // too_many_connections
]);

async function translateErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw translate(err);
  }
}

function translate(err: unknown): unknown {
  if (err instanceof DomainError) return err;
  const e = err as { code?: string; message?: string; detail?: string };
  // A validly signed token whose user row is gone (a deleted account) must not become a 500 when
  // the first write that references the user fails its foreign key.
  if (
    e.code === "23503" &&
    /customer_id_fkey$/.test((err as { constraint?: string }).constraint ?? "")
  ) {
    return new DomainError("UNAUTHENTICATED", undefined, {
      message: "The account of this token no longer exists",
    });
  }
  if (e.code && raisedBySql.test(e.code) && e.message && isErrorCode(e.message)) {
    let details: Record<string, unknown> | undefined;
    try {
      details = e.detail ? JSON.parse(e.detail) : undefined;
    } catch {
      details = undefined;
    }
    return new DomainError(e.message, details);
  }
  if (
    (e.code && (unavailableCodes.has(e.code) || e.code.startsWith("08"))) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      e.message ?? "",
    )
  ) {
    return serviceUnavailable(undefined, { cause: err });
  }
  // Keep the driver error as the cause so that retry logic and logs can see the SQLSTATE.
  return Object.assign(new Error(e.message ?? String(err), { cause: err }), { code: e.code });
}

/** True when a driver error is the given SQLSTATE (e.g. 23505 unique_violation). */
export function isSqlState(err: unknown, code: string): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return e.code === code || e.cause?.code === code;
}
