import { performance } from "node:perf_hooks";

/** What one operation came to: a unit sold, a refusal (out of stock), or an error. */
export type Outcome = "sold" | "refused" | "error";

export interface LoadResult {
  connections: number;
  seconds: number;
  sold: number;
  refused: number;
  errors: number;
  /** Sold units per second. */
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  firstError?: string;
}

/** A figure for the report: `-` when there is none (no refusal to time, no reference run). */
export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "-");

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/**
 * Runs `op` in a closed loop on `connections` workers for `seconds` (after a warm-up whose results
 * are dropped), and measures sold units per second and the latency of every operation.
 */
export async function closedLoop<W>(options: {
  workers: W[];
  seconds: number;
  warmupSeconds: number;
  op: (worker: W, i: number) => Promise<Outcome>;
}): Promise<LoadResult> {
  const counts = { sold: 0, refused: 0, errors: 0 };
  const latencies: number[] = [];
  let firstError: string | undefined;
  let measuring = false;
  let opIndex = 0;
  const start = performance.now();
  const warmupEnd = start + options.warmupSeconds * 1000;
  const end = warmupEnd + options.seconds * 1000;

  await Promise.all(
    options.workers.map(async (worker) => {
      for (let now = performance.now(); now < end; now = performance.now()) {
        const t0 = now;
        let outcome: Outcome;
        try {
          outcome = await options.op(worker, opIndex++);
        } catch (err) {
          outcome = "error";
          firstError ??= err instanceof Error ? err.message : String(err);
        }
        const t1 = performance.now();
        if (!measuring && t0 >= warmupEnd) measuring = true;
        if (t0 < warmupEnd || t1 > end) continue;
        counts[outcome === "error" ? "errors" : outcome]++;
        latencies.push(t1 - t0);
      }
    }),
  );
  const sorted = Float64Array.from(latencies).sort();
  return {
    connections: options.workers.length,
    seconds: options.seconds,
    ...counts,
    throughput: counts.sold / options.seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    ...(firstError ? { firstError } : {}),
  };
}
