/**
 * What the domain needs of a database, as types only: every domain module imports these, and the
 * driver module (index.ts) imports nothing of the domain, so no cycle runs through it.
 */

export interface QueryResult<R> {
  rows: R[];
  rowCount: number | null;
}

/** What the domain needs of a database: a query, and a transaction made of queries. */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

export interface Db extends Queryable {
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

export interface DbConfig {
  url: string;
  /** `pg` for a regular Postgres over TCP, `neon` for Neon's serverless driver (WebSocket). */
  driver?: "pg" | "neon";
  /** Pool size. A Lambda serves one request at a time, so 1 is right there; locally more. */
  max?: number;
  /** Neon driver only. Unset (the cloud): the driver's defaults, a secure WebSocket to Neon. */
  neon?: NeonOptions;
}

/** Points the Neon driver at another WebSocket-to-Postgres proxy than Neon's, e.g. a local one in tests. */
export interface NeonOptions {
  /** `host:port/path` (the driver appends `?address=<db host>:<db port>`), or a function of both. */
  wsProxy: string | ((host: string, port: number | string) => string);
  /** `wss:` (default) or plain `ws:`; plain only for a proxy on the same machine. */
  secure?: boolean;
}
