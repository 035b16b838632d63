/**
 * npm run bench: the flash-sale benchmark. Starts its own embedded Postgres, measures the ceiling
 * (the raw conditional decrement of one hot row), the checkout strategies a team would otherwise
 * write, this project's checkout, the same over HTTP against the local runtime, and what each
 * Lambda bundle costs at a cold start. Prints a table and writes it as JSON under bench/results/.
 *
 * Every figure that matters is a ratio measured in the same run, on the same database: on shared,
 * noisy machines absolute numbers move between runs, ratios far less.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createDb } from "@flashstock/core/db/index";
import { migrate } from "@flashstock/core/db/migrate";
import { startEmbeddedPostgres } from "@flashstock/local/postgres";
import { freePort } from "@flashstock/testing/ports";
import pg from "pg";
import { measureColdStarts } from "./coldstart.ts";
import { clientCpuSeconds, postgresCpuSeconds, postmasterOf } from "./cpu.ts";
import { type HttpResult, runHttpFlashSale } from "./http.ts";
import { type LambdaResult, runLambdaMode } from "./lambda.ts";
import { fmt, type LoadResult } from "./load.ts";
import {
  COUPON_USES,
  createHotSku,
  emptyOrderTables,
  HOT_STOCK,
  oneRowLimit,
  prepareCarts,
  type Strategy,
  settleSaleInputs,
  strategies,
} from "./strategies.ts";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const env = process.env;
const CONNECTIONS = (env.BENCH_CONNECTIONS ?? "1,32,64").split(",").map(Number);
const SECONDS = Number(env.BENCH_SECONDS ?? 3);
const WARMUP_SECONDS = Number(env.BENCH_WARMUP_SECONDS ?? 1);
// For quick experiments: BENCH_ONLY=ceiling,flashstock,http,bundles runs only the parts named.
const ONLY = env.BENCH_ONLY?.split(",");
const list = (value: string | undefined, fallback: string) =>
  (value ?? fallback).split(",").map(Number);
// The Lambda-shaped mode: delays each way, instance counts, units per sale (ten buyers a unit).
const LAMBDA_DELAYS_MS = list(env.BENCH_LAMBDA_DELAYS_MS, "0,1,5");
const LAMBDA_INSTANCES = list(env.BENCH_LAMBDA_INSTANCES, "64,256");
const LAMBDA_STOCK = Number(env.BENCH_LAMBDA_STOCK ?? 300);
const LAMBDA_MAX_SECONDS = Number(env.BENCH_LAMBDA_MAX_SECONDS ?? 2);
// Sales with the stock spread over one SKU per instance, each beside a one-row sale, for the bucket
// verdict.
const BUCKET_TRIALS = Number(env.BENCH_BUCKET_TRIALS ?? 2);

/** CPU seconds per 1,000 units sold over the whole point (its warm-up too). */
interface CpuPerThousand {
  postgresSeconds: number;
  clientSeconds: number;
}

interface Row extends LoadResult {
  strategy: string;
  oversold: number;
  /** Against the raw decrement with synchronous commit (the first reference). */
  ratioToCeiling: number;
  /** Against the one-row limit: the raw decrement whose lock goes with the commit record. */
  ratioToLimit: number;
  cpuPer1000: CpuPerThousand;
  /** For the ceiling: its two runs, before and after the strategies; `throughput` is their mean. */
  ceilingRuns?: number[];
}

async function main() {
  const started = Date.now();
  const root = await mkdtemp(join(tmpdir(), "flashstock-bench-"));
  await import("node:fs/promises").then((fs) => fs.chmod(root, 0o755));
  // Postgres's defaults, durable commits included: the ceiling is what this database does on this
  // machine, not what it does with fsync off.
  const postgres = await startEmbeddedPostgres({
    dataDir: join(root, "postgres"),
    port: await freePort(),
    database: "flashstock_bench",
    persistent: false,
    postgresFlags: ["-c", "max_connections=600"],
  });
  const admin = new pg.Client({ connectionString: postgres.url });
  try {
    const db = createDb({ url: postgres.url, max: 1 });
    await migrate(db);
    await db.end();
    await admin.connect();
    const { rows: backend } = await admin.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const postmaster = postmasterOf(backend[0]?.pid as number);
    const settings = await admin.query<{ name: string; setting: string }>(
      "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'server_version')",
    );
    // Enough distinct customers for the busiest point; carts are made per point.
    const maxOrders = Number(env.BENCH_MAX_ORDERS_PER_POINT ?? 20_000);
    await admin.query(
      `INSERT INTO users (email, password_hash, name, role)
       SELECT 'bench-' || g || '@example.com', 'not-a-hash', 'Bench ' || g, 'customer'
         FROM generate_series(1, $1) g`,
      [maxOrders],
    );
    await admin.query("VACUUM ANALYZE users");

    const rows: Row[] = [];
    const ceilingAt = new Map<number, number>();
    let pointNumber = 0;
    const runPoint = async (strategy: Strategy, connections: number) => {
      const tag = `${strategy.name}-${connections}-${++pointNumber}`;
      const sku = `HOT-${tag}`.toUpperCase();
      await createHotSku(admin, sku);
      // Every point starts from the same tables: empty order-side tables, fresh statistics, a
      // checkpoint behind it. Otherwise later points would run on bigger indexes, with autovacuum
      // busy on what earlier points wrote.
      await emptyOrderTables(admin);
      const coupon = strategy.name === "flashstock-coupon" ? await createCoupon(admin, tag) : null;
      const carts =
        strategy.name === "ceiling" ? [] : await prepareCarts(admin, sku, maxOrders, coupon);
      await settleSaleInputs(admin);
      const cpuBefore = { postgres: postgresCpuSeconds(postmaster), client: clientCpuSeconds() };
      const result = await strategy.run({
        url: postgres.url,
        sku,
        carts,
        connections,
        seconds: SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        tag,
      });
      const clientSeconds = clientCpuSeconds() - cpuBefore.client;
      // The point's connections are closed: give the postmaster a moment to reap their backends.
      await new Promise((r) => setTimeout(r, 300));
      const postgresSeconds = postgresCpuSeconds(postmaster) - cpuBefore.postgres;
      const units = await unitsTaken(admin, sku);
      const cpuPer1000 = {
        postgresSeconds: (postgresSeconds / units) * 1000,
        clientSeconds: (clientSeconds / units) * 1000,
      };
      const overRedeemed = coupon ? await overRedeemedUses(admin, coupon) : 0;
      return { ...result, cpuPer1000, oversold: (await oversoldUnits(admin, sku)) + overRedeemed };
    };
    const selected = strategies.filter((s) => !ONLY || ONLY.includes(s.name));
    const ceiling = selected.find((s) => s.name === "ceiling");
    const limit = selected.find((s) => s === oneRowLimit);
    for (const connections of CONNECTIONS) {
      // The ceiling runs first and last at each concurrency and the ratios use the mean: on a
      // shared machine it moves by a third between two runs a minute apart.
      const before = ceiling && (await runPoint(ceiling, connections));
      const measured = [];
      for (const strategy of selected.filter((s) => s !== ceiling)) {
        measured.push({ strategy: strategy.name, ...(await runPoint(strategy, connections)) });
        console.log(
          `${strategy.name} ${connections} conns: ${measured.at(-1)?.throughput.toFixed(0)}/s`,
        );
      }
      const after = ceiling && (await runPoint(ceiling, connections));
      const ceilingRate = before && after ? (before.throughput + after.throughput) / 2 : Number.NaN;
      ceilingAt.set(connections, ceilingRate);
      const limitRate = measured.find((m) => m.strategy === limit?.name)?.throughput ?? Number.NaN;
      if (before && after) {
        const row: Row = {
          strategy: "ceiling",
          ...before,
          throughput: ceilingRate,
          sold: before.sold + after.sold,
          p50Ms: Math.max(before.p50Ms, after.p50Ms),
          p99Ms: Math.max(before.p99Ms, after.p99Ms),
          ceilingRuns: [before.throughput, after.throughput],
          ratioToCeiling: 1,
          ratioToLimit: ceilingRate / limitRate,
        };
        rows.push(row);
        console.log(formatRow(row));
      }
      for (const m of measured) {
        const row: Row = {
          ...m,
          ratioToCeiling: m.throughput / ceilingRate,
          ratioToLimit: m.throughput / limitRate,
        };
        rows.push(row);
        console.log(formatRow(row));
      }
    }

    const sectionSeconds: Record<string, number> = {};
    const since = (t: number) => Math.round((Date.now() - t) / 1000);
    sectionSeconds.core = since(started);
    let sectionStart = Date.now();
    const lambda: LambdaResult[] =
      ONLY && !ONLY.includes("lambda")
        ? []
        : await runLambdaMode({
            admin,
            url: postgres.url,
            postmasterPid: postmaster,
            delaysMs: LAMBDA_DELAYS_MS,
            instanceCounts: LAMBDA_INSTANCES,
            stock: LAMBDA_STOCK,
            maxSeconds: LAMBDA_MAX_SECONDS,
            // Hot-SKU buckets are judged at the most instances, 1 ms each way.
            bucketTrials: [
              { delayMs: 1, instances: Math.max(...LAMBDA_INSTANCES), trials: BUCKET_TRIALS },
            ],
            log: (line) => console.log(line),
          });

    sectionSeconds.lambda = since(sectionStart);
    sectionStart = Date.now();
    const http: HttpResult[] = [];
    if (!ONLY || ONLY.includes("http")) {
      const log = (line: string) => console.log(line);
      const adminUrl = postgres.adminUrl;
      const connectionsList = (env.BENCH_HTTP_CONNECTIONS ?? "32,64").split(",").map(Number);
      // The checkout path alone (consumers are other Lambdas in the cloud), then the local
      // runtime exactly as npm start runs it, consumers sharing its one Node thread.
      http.push(
        ...(await runHttpFlashSale({ adminUrl, connectionsList, consumers: false, log })),
        ...(await runHttpFlashSale({
          adminUrl,
          connectionsList: connectionsList.slice(0, 1),
          consumers: true,
          log,
        })),
      );
    }
    const httpRows = http.map((h) => ({
      ...h,
      ratioToCeiling: h.throughput / h.ceiling,
    }));
    sectionSeconds.http = since(sectionStart);
    sectionStart = Date.now();

    const bundles =
      ONLY && !ONLY.includes("bundles")
        ? []
        : await measureColdStarts({ outdir: resolve(repoRoot, "bench/.bundles") });
    sectionSeconds.bundles = since(sectionStart);

    const report = {
      at: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        postgres: Object.fromEntries(settings.rows.map((r) => [r.name, r.setting])),
      },
      settings: {
        seconds: SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        hotStock: HOT_STOCK,
        lambdaStock: LAMBDA_STOCK,
        lambdaMaxSeconds: LAMBDA_MAX_SECONDS,
      },
      strategies: strategies.map((s) => ({ name: s.name, description: s.description })),
      rows,
      lambda,
      buckets: bucketVerdict(lambda) ?? null,
      http: httpRows,
      bundles,
      durationSeconds: Math.round((Date.now() - started) / 1000),
      // Where the time went: the core points (with start-up), the Lambda-shaped sales, HTTP, bundles.
      sectionSeconds,
      targets: [] as Target[],
    };
    report.targets = targets(report);
    console.log(`\n${renderReport(report)}`);
    const dir = resolve(repoRoot, "bench/results");
    await mkdir(dir, { recursive: true });
    const file = resolve(dir, `${report.at.replace(/[:.]/g, "-")}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(resolve(dir, "latest.md"), `${renderReport(report)}\n`);
    console.log(
      `\nwritten: ${file} and bench/results/latest.md (${report.durationSeconds} s: ${Object.entries(
        sectionSeconds,
      )
        .map(([k, v]) => `${k} ${v} s`)
        .join(", ")})`,
    );
  } finally {
    await admin.end().catch(() => {});
    await postgres.stop();
    await rm(root, { recursive: true, force: true });
  }
}

/** The point's coupon: 10% off, COUPON_USES uses in all, one per customer. */
async function createCoupon(admin: pg.Client, tag: string): Promise<string> {
  const code = `BENCH-${tag}`
    .toUpperCase()
    .replace(/[^A-Z0-9_-]/g, "-")
    .slice(0, 32);
  await admin.query(
    `INSERT INTO promotions (code, kind, value, usage_limit, per_customer_limit)
     VALUES ($1, 'percent', 10, $2, 1)`,
    [code, COUPON_USES],
  );
  return code;
}

/**
 * Uses of the code beyond what it allows or what its orders show: |used - orders carrying it| plus
 * anything past usage_limit. Zero when the conditional increment holds.
 */
async function overRedeemedUses(admin: pg.Client, code: string): Promise<number> {
  const { rows } = await admin.query<{ off: number }>(
    `SELECT (abs(p.used - (SELECT count(*) FROM orders o WHERE o.promotion_code = p.code))
             + greatest(p.used - p.usage_limit, 0))::int AS off
       FROM promotions p WHERE p.code = $1`,
    [code],
  );
  return rows[0]?.off ?? 0;
}

/**
 * Units sold during the point, its warm-up included: what the stock gave up, or the units in
 * orders when lost updates (read-then-write) gave up less than was ordered.
 */
async function unitsTaken(admin: pg.Client, sku: string): Promise<number> {
  const { rows } = await admin.query<{ taken: number }>(
    `SELECT greatest($2 - available,
              (SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE sku = $1))::int AS taken
       FROM stock WHERE sku = $1`,
    [sku, HOT_STOCK],
  );
  return rows[0]?.taken ?? Number.NaN;
}

/** Units sold beyond what the stock gave up: orders for the SKU minus the decrease in stock. */
async function oversoldUnits(admin: pg.Client, sku: string): Promise<number> {
  const { rows } = await admin.query<{ oversold: number }>(
    `SELECT coalesce((SELECT sum(quantity) FROM order_lines WHERE sku = $1), 0)::int
            - ($2 - (SELECT available FROM stock WHERE sku = $1))::int AS oversold`,
    [sku, HOT_STOCK],
  );
  const soldInOrders = await admin.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM order_lines WHERE sku = $1",
    [sku],
  );
  // The ceiling writes no orders: nothing it sells can be oversold by this measure.
  return soldInOrders.rows[0]?.n ? (rows[0]?.oversold ?? 0) : 0;
}

function formatRow(r: Row): string {
  return `${r.strategy.padEnd(18)} ${String(r.connections).padStart(3)} conns  ${fmt(r.throughput).padStart(6)}/s  p50 ${fmt(r.p50Ms, 1)} ms  p99 ${fmt(r.p99Ms, 1)} ms  oversold ${r.oversold}  errors ${r.errors}  x${fmt(r.ratioToCeiling, 2)}${r.firstError ? `  (${r.firstError})` : ""}`;
}

/** A performance target and the figure that decides it, as the JSON report keeps it. */
interface Target {
  name: string;
  goal: string;
  value: string;
  met: boolean;
}

/**
 * The performance targets (checkout throughput, no overselling, the Lambda-shaped sale, bundle
 * size, import time), each with the figure that decides it.
 */
// biome-ignore lint/suspicious/noExplicitAny: the report is plain JSON
function targets(report: any): Target[] {
  const rows = report.rows as Row[];
  const at = (strategy: string, c: number) =>
    rows.find((r) => r.strategy === strategy && r.connections === c);
  const out: Target[] = [];
  const target = (name: string, goal: string, value: string, met: boolean) =>
    out.push({ name, goal, value, met });
  const one = at("flashstock", 1);
  if (one) {
    target(
      "checkout at 1 connection against the one-row limit",
      ">= 0.35 x",
      `${fmt(one.ratioToLimit, 2)} x`,
      one.ratioToLimit >= 0.35,
    );
  }
  for (const c of [32, 64]) {
    const r = at("flashstock", c);
    if (r) {
      target(
        `checkout at ${c} connections against the raw decrement (synchronous commit)`,
        ">= 0.70 x",
        `${fmt(r.ratioToCeiling, 2)} x`,
        r.ratioToCeiling >= 0.7,
      );
    }
  }
  const ours = at("flashstock", 64);
  const forUpdate = at("select-for-update", 64);
  if (ours && forUpdate) {
    const x = ours.throughput / forUpdate.throughput;
    target(
      "checkout against SELECT ... FOR UPDATE at 64 connections",
      ">= 2 x",
      `${fmt(x, 1)} x`,
      x >= 2,
    );
  }
  const flashstockRows = rows.filter((r) => r.strategy === "flashstock");
  if (flashstockRows.length) {
    const oversold = flashstockRows.reduce((n, r) => n + r.oversold, 0);
    target("checkout oversells nothing", "0 units", `${oversold} units`, oversold === 0);
  }
  const couponRows = rows.filter((r) => r.strategy === "flashstock-coupon");
  if (couponRows.length) {
    const off = couponRows.reduce((n, r) => n + r.oversold, 0);
    target(
      "a coupon sale oversells nothing and redeems the code exactly once per order",
      "0 off",
      `${off} off`,
      off === 0,
    );
    for (const c of [32, 64]) {
      const coupon = at("flashstock-coupon", c);
      const plain = at("flashstock", c);
      if (coupon && plain) {
        const x = coupon.throughput / plain.throughput;
        target(
          `checkout with a coupon against without at ${c} connections`,
          ">= 0.50 x",
          `${fmt(x, 2)} x`,
          x >= 0.5,
        );
      }
    }
  }
  // The bucket trials' repeats are for the verdict alone.
  const lambda = (report.lambda as LambdaResult[]).filter((l) => !l.bucketTrial);
  const sale = (strategy: string, instances: number, delayMs: number) =>
    lambda.find(
      (l) => l.strategy === strategy && l.instances === instances && l.delayMs === delayMs,
    );
  const lambdaOurs = sale("flashstock", 64, 1);
  const lambdaForUpdate = sale("select-for-update", 64, 1);
  if (lambdaOurs && lambdaForUpdate) {
    const x = lambdaOurs.throughput / lambdaForUpdate.throughput;
    target(
      "Lambda-shaped, 1 ms each way, 64 instances: checkout against SELECT ... FOR UPDATE, oversold",
      ">= 5 x, 0 units",
      `${fmt(x, 1)} x, ${lambdaOurs.oversold} units`,
      x >= 5 && lambdaOurs.oversold === 0,
    );
  }
  for (const l of lambda.filter((x) => x.strategy === "flashstock")) {
    // A refusal is one round trip: place_order's own fail-fast read.
    const goal = 10 + 2 * l.delayMs;
    target(
      `Lambda-shaped, ${l.delayMs} ms each way, ${l.instances} instances: "sold out" p99`,
      `< ${goal} ms`,
      `${fmt(l.soldOutP99Ms, 1)} ms`,
      l.soldOutP99Ms < goal,
    );
  }
  const verdict = report.buckets as BucketVerdict | null;
  if (verdict) {
    target(
      `hot-SKU buckets: at most (no stock row shared) against one hot row, ${verdict.instances} instances, ${verdict.delayMs} ms`,
      ">= 1.3 x to build them",
      `${fmt(verdict.ratio, 2)} x`,
      verdict.ratio >= 1.3,
    );
  }
  const lambdaOversold = (report.lambda as LambdaResult[])
    .filter((l) => l.strategy !== "read-then-write")
    .reduce((n, l) => n + l.oversold, 0);
  if (lambda.length) {
    target(
      "Lambda-shaped: the locking strategies and checkout oversell nothing",
      "0 units",
      `${lambdaOversold} units`,
      lambdaOversold === 0,
    );
  }
  for (const h of report.http.filter((x: HttpResult) => !x.consumers)) {
    const exact = h.sold === h.stock && h.ordersInDatabase === h.stock && h.stockLeft === 0;
    target(
      `HTTP checkout at ${h.connections} connections against the raw decrement, exact units`,
      ">= 0.40 x, exact",
      `${fmt(h.ratioToCeiling, 2)} x, ${h.sold}/${h.stock} sold, ${h.ordersInDatabase} orders, ${h.stockLeft} left`,
      h.ratioToCeiling >= 0.4 && exact,
    );
    const core = at("flashstock", h.connections);
    if (core) {
      const x = h.throughput / core.throughput;
      target(
        `HTTP checkout against the core checkout at ${h.connections} connections`,
        ">= 0.75 x",
        `${fmt(x, 2)} x`,
        x >= 0.75,
      );
    }
  }
  const httpBundles = (
    report.bundles as { kind: string; bytes: number; importMs: number }[]
  ).filter((b) => b.kind === "http");
  if (httpBundles.length) {
    const biggest = Math.max(...httpBundles.map((b) => b.bytes)) / 1024;
    const slowest = Math.max(...httpBundles.map((b) => b.importMs));
    target("every HTTP handler bundle", "< 300 KB", `largest ${fmt(biggest, 1)} KB`, biggest < 300);
    target(
      "every HTTP handler's import",
      "< 150 ms",
      `slowest ${fmt(slowest, 1)} ms`,
      slowest < 150,
    );
  }
  if (report.durationSeconds !== undefined) {
    target("npm run bench", "< 480 s", `${report.durationSeconds} s`, report.durationSeconds < 480);
  }
  return out;
}

/**
 * Hot-SKU buckets split one product's stock into N rows so that buyers stop queueing on one row
 * lock. However they are built, they can at most do what a sale with no stock row shared by
 * buyers served at once does (the `-unshared` sale: one SKU per instance). So that sale against
 * the one-row sale at the same point bounds their gain; below 1.3x they are not worth building.
 */
type BucketVerdict = NonNullable<ReturnType<typeof bucketVerdict>>;
function bucketVerdict(lambda: LambdaResult[]) {
  const bound = lambda.filter((l) => l.strategy === "flashstock-unshared");
  const first = bound[0];
  if (!first) return undefined;
  const oneRow = lambda.filter(
    (l) =>
      l.strategy === "flashstock" && l.instances === first.instances && l.delayMs === first.delayMs,
  );
  if (!oneRow.length) return undefined;
  const mean = (xs: LambdaResult[]) => xs.reduce((n, l) => n + l.throughput, 0) / xs.length;
  const ratio = mean(bound) / mean(oneRow);
  const sales = `${bound.length} sales each, orders/s ${fmt(mean(bound))} against ${fmt(mean(oneRow))}`;
  return {
    instances: first.instances,
    delayMs: first.delayMs,
    ratio,
    verdict:
      ratio >= 1.3
        ? `a sale without a shared stock row sold ${fmt(ratio, 2)}x the one-row sale (${sales}): buckets could reach the 1.3x that would keep them`
        : `not built: even with no stock row shared, the sale sold only ${fmt(ratio, 2)}x the one-row sale (${sales}), under the 1.3x that would keep them`,
  };
}

const targetLine = (t: Target) => `${t.met ? "met" : "MISSED"}: ${t.name} ${t.goal} (${t.value})`;

// biome-ignore lint/suspicious/noExplicitAny: the report is plain JSON
function renderReport(report: any): string {
  const lines: string[] = [];
  lines.push(
    `Machine: ${report.machine.cpus} CPUs (${report.machine.cpuModel}), ${report.machine.memoryGiB} GiB, Node ${report.machine.node}; Postgres ${report.machine.postgres.server_version} (fsync ${report.machine.postgres.fsync}, synchronous_commit ${report.machine.postgres.synchronous_commit}); ${report.settings.seconds} s per point after ${report.settings.warmupSeconds} s warm-up; run ${report.at}`,
    "",
    "Ratios against two references measured in the same run: the raw conditional decrement of one row in autocommit with synchronous commit (x ceiling: each commit flushes the WAL holding the row lock; its runs before / after the others), and the one-row limit, the same with synchronous_commit off for the session (x limit: the lock goes with the commit record, as in place_order). CPU: seconds of Postgres (every server process, from /proc) and of the bench's own process per 1,000 units sold over the whole point.",
    "",
    "| strategy | conns | orders/s | p50 ms | p99 ms | oversold | errors | x ceiling | x limit | PG CPU s/1000 | client CPU s/1000 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const r of report.rows as Row[]) {
    lines.push(
      `| ${r.ceilingRuns ? `ceiling (${r.ceilingRuns.map((x) => fmt(x)).join(" / ")})` : r.strategy} | ${r.connections} | ${fmt(r.throughput)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${r.oversold} | ${r.errors} | ${fmt(r.ratioToCeiling, 2)} | ${fmt(r.ratioToLimit, 2)} | ${fmt(r.cpuPer1000?.postgresSeconds, 2)} | ${fmt(r.cpuPer1000?.clientSeconds, 2)} |`,
    );
  }
  lines.push(
    "",
    `Lambda-shaped (each instance one connection of its own, one buyer at a time, through a TCP proxy adding the delay each way; ${report.settings.lambdaStock} units, ten buyers a unit; a sale is cut after ${report.settings.lambdaMaxSeconds} s and what is still in flight cancelled; round trips: the instances' writes per buyer):`,
    "",
    "| strategy | instances | delay ms | sold | sold-out answers | orders/s | p50 ms | p99 ms | sold-out p50 ms | sold-out p99 ms | oversold | round trips | PG CPU s/1000 | cut |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  );
  for (const l of report.lambda as LambdaResult[]) {
    lines.push(
      `| ${l.strategy}${l.bucketTrial ? ` (bucket trial ${l.bucketTrial})` : ""} | ${l.instances} | ${l.delayMs} | ${l.sold}/${l.stock} | ${l.refused} | ${fmt(l.throughput)} | ${fmt(l.p50Ms, 1)} | ${fmt(l.p99Ms, 1)} | ${fmt(l.soldOutP50Ms, 1)} | ${fmt(l.soldOutP99Ms, 1)} | ${l.oversold} | ${fmt(l.roundTripsPerBuyer, 1)} | ${fmt(l.cpuPer1000.postgresSeconds, 2)} | ${l.cut ? "yes" : ""} |`,
    );
  }
  lines.push(
    "",
    "End to end over HTTP (local runtime, POST /checkout, autocannon, one customer and cart per request, more buyers than units; consumers: whether the runtime's queue consumers ran in its process during the sale; ceiling: measured on the same database just before each sale):",
    "",
    "| consumers | conns | buyers | stock | sold | 409 | other | orders/s | p50 ms | p99 ms | ceiling/s | x ceiling |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const h of report.http) {
    lines.push(
      `| ${h.consumers ? "running" : "idle"} | ${h.connections} | ${h.buyers} | ${h.stock} | ${h.sold} | ${h.refused} | ${h.other} | ${fmt(h.throughput)} | ${fmt(h.p50Ms, 1)} | ${fmt(h.p99Ms, 1)} | ${fmt(h.ceiling)} | ${fmt(h.ratioToCeiling, 2)} |`,
    );
  }
  const verdict = report.buckets as BucketVerdict | null;
  if (verdict) {
    lines.push(
      "",
      `Hot-SKU buckets, ${verdict.instances} instances, ${verdict.delayMs} ms each way: ${verdict.verdict}.`,
    );
  }
  lines.push("", "Targets:", "", ...report.targets.map((t: Target) => `- ${targetLine(t)}`));
  lines.push(
    "",
    "Lambda bundles (esbuild, ESM, minified, AWS SDK from the runtime) and their import time in a fresh Node process (median of 5):",
    "",
    "| handler file | KB | import ms |",
    "| --- | ---: | ---: |",
  );
  for (const b of report.bundles) {
    lines.push(`| ${b.file} | ${fmt(b.bytes / 1024, 1)} | ${fmt(b.importMs, 1)} |`);
  }
  return lines.join("\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
