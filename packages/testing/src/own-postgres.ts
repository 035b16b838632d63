import { readdirSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, type Db } from "@flashstock/core/db/index";
import { migrate } from "@flashstock/core/db/migrate";
import { type RunningPostgres, startEmbeddedPostgres } from "@flashstock/local/postgres";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { TEST_JWT_SECRET } from "./database.ts";
import { freePort } from "./ports.ts";

export interface OwnPostgres {
  /** Stable across restarts: the server comes back on the same port. */
  readonly url: string;
  /** A migrated pool on it, for preparing rows and checking invariants; it reconnects after a fault. */
  readonly db: Db;
  /** A clean stop (fast shutdown, with a checkpoint). */
  stop(): Promise<void>;
  /** SIGQUIT to the postmaster: Postgres's immediate shutdown, a crash without a checkpoint. */
  crash(): Promise<void>;
  /**
   * SIGKILL to every server process at once: a power cut as far as Postgres can tell, so what sat
   * in its WAL buffers is gone and recovery replays only what reached disk.
   */
  powerCut(): Promise<void>;
  /** Starts it again on the same data and port. */
  start(): Promise<void>;
  /**
   * Pauses the WAL writer (SIGSTOP), so that a commit reaches disk only when a backend flushes it.
   * Undone by the next crash or power cut, or at the end of the file.
   */
  pauseWalWriter(): Promise<void>;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Resolves once none of the processes exists any more. */
export async function untilGone(pids: number[]) {
  while (pids.some(isAlive)) await new Promise((r) => setTimeout(r, 20));
}

/** The postmaster's pid and its children's, read from the data directory and /proc. */
export function serverProcesses(dataDir: string): { postmaster: number; children: number[] } {
  const postmaster = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const children = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        // "pid (comm) state ppid ...": the command name may hold spaces, so split after it.
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return { postmaster, children };
}

/**
 * A Postgres server of the calling test file's own, for tests that stop or crash it while the
 * run's shared server serves the other files. fsync stays on (the default): these tests are about
 * what survives a crash. Call at the top level of a test file, before hooks that need its URL.
 */
export function useOwnPostgres(options: { postgresFlags?: string[] } = {}): OwnPostgres {
  let root: string | undefined;
  let serverOptions: Parameters<typeof startEmbeddedPostgres>[0];
  let server: RunningPostgres | undefined;
  let db: Db | undefined;
  let pausedWalWriter: number | undefined;

  const resumeWalWriter = () => {
    if (pausedWalWriter !== undefined && isAlive(pausedWalWriter)) {
      process.kill(pausedWalWriter, "SIGCONT");
    }
    pausedWalWriter = undefined;
  };
  // The server's recent log, printed when a test fails: it says what the server went through.
  const log: string[] = [];
  const start = async () => {
    server = await startEmbeddedPostgres({
      ...serverOptions,
      onLog: (line) => {
        log.push(line);
        if (log.length > 200) log.shift();
      },
    });
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "flashstock-own-postgres-"));
    await chmod(root, 0o755);
    serverOptions = {
      dataDir: join(root, "postgres"),
      port: await freePort(),
      database: "flashstock",
      persistent: true,
      postgresFlags: options.postgresFlags ?? [],
    };
    await start();
    db = createDb({ url: (server as RunningPostgres).url, max: 3 });
    await migrate(db);
    process.env.JWT_SECRET ??= TEST_JWT_SECRET;
  });
  beforeEach((context) => {
    context.onTestFailed(() => {
      console.error(`[own-postgres] the server's last log lines:\n${log.join("")}`);
    });
  });
  afterAll(async () => {
    // A paused WAL writer would hold up the shutdown for ever.
    resumeWalWriter();
    await db?.end();
    await server?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  return {
    get url() {
      return (server as RunningPostgres).url;
    },
    get db() {
      return db as Db;
    },
    stop: async () => {
      resumeWalWriter();
      await server?.stop();
    },
    crash: async () => {
      const { postmaster, children } = serverProcesses(serverOptions.dataDir);
      resumeWalWriter();
      process.kill(postmaster, "SIGQUIT");
      await untilGone([postmaster, ...children]);
    },
    powerCut: async () => {
      const { postmaster, children } = serverProcesses(serverOptions.dataDir);
      // The postmaster first: alive, it would see a child die and run its own crash recovery.
      // A child may have ended since the scan (ESRCH), which must not stop the killing.
      for (const pid of [postmaster, ...children]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
        }
      }
      pausedWalWriter = undefined;
      await untilGone([postmaster, ...children]);
    },
    start,
    pauseWalWriter: async () => {
      const { rows } = await (db as Db).query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'",
      );
      pausedWalWriter = rows[0]?.pid as number;
      process.kill(pausedWalWriter, "SIGSTOP");
    },
  };
}
