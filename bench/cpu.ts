/**
 * CPU time, so that "cheaper" can be shown on a noisy machine: wall-clock throughput moves with
 * whatever else runs, the CPU seconds one order costs far less.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Linux's clock ticks per second for /proc times (`getconf CLK_TCK`), 100 on every kernel we run. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime: its own CPU and that of its children it has waited for. */
  ticks: number;
}

function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // gone since the directory was listed
  }
  // The command name, in parentheses, may hold spaces: the fields start after its last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const n = (i: number) => Number(fields[i - 3]);
  return { ppid: n(4), ticks: n(14) + n(15) + n(16) + n(17) };
}

/**
 * The CPU seconds the whole Postgres server has used so far: the postmaster, its live children
 * (backends, WAL writer, checkpointer...), and the children that exited (in the postmaster's
 * cutime/cstime once it reaped them). Read with the point's connections closed, so its backends
 * are reaped and counted once.
 */
export function postgresCpuSeconds(postmasterPid: number): number {
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = procStat(pid);
    if (stat?.ppid === postmasterPid) ticks += stat.ticks;
  }
  ticks += procStat(postmasterPid)?.ticks ?? Number.NaN;
  return ticks / TICKS_PER_SECOND;
}

/** The postmaster's pid: the parent of any backend. */
export function postmasterOf(backendPid: number): number {
  const stat = procStat(backendPid);
  if (!stat) throw new Error(`no process ${backendPid}`);
  return stat.ppid;
}

/** This process's CPU seconds so far (the bench's clients, and in the Lambda-shaped mode its proxy). */
export function clientCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
