/**
 * Configuration, read from the environment. The local runtime and the tests set these variables;
 * in the cloud the deploy definitions do. Read lazily so that importing a handler has no side effects.
 */
export interface Config {
  databaseUrl: string;
  databaseDriver: "pg" | "neon";
  dbPoolMax: number;
  jwtSecret: string;
  tokenTtlSeconds: number;
  maxBodyBytes: number;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Missing configuration: environment variable ${name} is not set`);
  return value;
}

function integer(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`Bad configuration: ${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

export function config(): Config {
  const driver = process.env.DATABASE_DRIVER ?? "pg";
  if (driver !== "pg" && driver !== "neon") {
    throw new Error(`Bad configuration: DATABASE_DRIVER must be "pg" or "neon", got "${driver}"`);
  }
  const jwtSecret = required("JWT_SECRET");
  if (jwtSecret.length < 32) throw new Error("Bad configuration: JWT_SECRET needs 32+ characters");
  return {
    databaseUrl: required("DATABASE_URL"),
    databaseDriver: driver,
    // One Lambda instance serves one request at a time: one connection is all it can use.
    dbPoolMax: integer("DB_POOL_MAX", 1),
    jwtSecret,
    tokenTtlSeconds: integer("TOKEN_TTL_SECONDS", 12 * 3600),
    maxBodyBytes: integer("MAX_BODY_BYTES", 64 * 1024),
  };
}
