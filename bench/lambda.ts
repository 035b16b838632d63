/**
 * The flash sale as Lambda and Neon would see it, on one machine. Each simulated function instance
 * holds one connection of its own and serves one buyer at a time, so nothing is shared or coalesced
 * across requests; every byte between an instance and Postgres passes a TCP proxy that holds it
 * `delayMs` each way, the network between a Lambda and its database. There are ten times more
 * buyers than units: the sale ends sold out, and the buyers who come after the last unit measure
 * how fast "sold out" is said.
 */
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { createDb, type Db } from "@flashstock/core/db/index";
import pg from "pg";
import { clientCpuSeconds, postgresCpuSeconds } from "./cpu.ts";
import { fmt, type Outcome, percentile } from "./load.ts";
import {
  applicationCheckout,
  createHotSku,
  emptyOrderTables,
  flashstockOrder,
  type PreparedCart,
  prepareCarts,
  type StockStep,
  settleSaleInputs,
} from "./strategies.ts";

/** A TCP proxy to `target` that holds every chunk `delayMs` in each direction (settable). */
export interface DelayProxy {
  port: number;
  delayMs: number;
  /** Chunks sent by the clients so far: a client's round trips, near enough. */
  clientWrites: number;
  close(): Promise<void>;
}

export async function startDelayProxy(target: number): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const proxy: DelayProxy = { port: 0, delayMs: 0, clientWrites: 0, close: async () => {} };
  const forward = (from: Socket, to: Socket, counted: boolean) => {
    // Timers of one duration fire in the order they were set: the stream keeps its order.
    from.on("data", (chunk) => {
      if (counted) proxy.clientWrites++;
      if (proxy.delayMs === 0) to.write(chunk);
      else setTimeout(() => to.write(chunk), proxy.delayMs);
    });
    from.on("end", () => setTimeout(() => to.end(), proxy.delayMs));
    from.on("error", () => to.destroy());
  };
  const server: Server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
    forward(client, upstream, true);
    forward(upstream, client, false);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  proxy.port = (server.address() as { port: number }).port;
  proxy.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}

/** One simulated function instance: one connection, one buyer at a time. */
interface Instance {
  /** Ends what a cancelled request left open (a transaction whose ROLLBACK was cancelled too). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** What the instances of a strategy hold: the three application strategies share plain clients. */
type InstanceKind = "client" | "pool-of-one";

export interface LambdaStrategy {
  name: string;
  kind: InstanceKind;
  serve(instance: Instance, cart: PreparedCart, sku: string, tag: string): Promise<Outcome>;
}

const application = (name: string, step: StockStep): LambdaStrategy => {
  const checkout = applicationCheckout(step);
  return {
    name,
    kind: "client",
    serve: (instance, cart, sku, tag) =>
      checkout(
        (instance as ClientInstance).client,
        { url: "", sku, tag, carts: [], connections: 1, seconds: 0, warmupSeconds: 0 },
        cart,
      ),
  };
};

interface ClientInstance extends Instance {
  client: pg.Client;
}
interface PoolInstance extends Instance {
  db: Db;
}

export const lambdaStrategies: LambdaStrategy[] = [
  application("read-then-write", "read-then-write"),
  application("select-for-update", "for-update"),
  application("advisory-lock", "advisory-lock"),
  {
    name: "flashstock",
    kind: "pool-of-one",
    serve: (instance, cart, _sku, tag) => flashstockOrder((instance as PoolInstance).db, cart, tag),
  },
];

async function openInstance(kind: InstanceKind, url: string): Promise<Instance> {
  if (kind === "client") {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const reset = async () => {
      await client.query("ROLLBACK").catch(() => {});
    };
    return { client, reset, close: () => client.end() } as ClientInstance;
  }
  // Its own pool of one: what the handler's module holds in a Lambda (DB_POOL_MAX=1).
  const db = createDb({ url, max: 1 });
  await db.query("SELECT 1");
  // Its requests are single statements in autocommit: a cancelled one leaves nothing open.
  return { db, reset: async () => {}, close: () => db.end() } as PoolInstance;
}

export interface LambdaResult {
  strategy: string;
  instances: number;
  /** Added by the proxy in each direction. */
  delayMs: number;
  stock: number;
  buyers: number;
  sold: number;
  /** Buyers told "sold out". */
  refused: number;
  errors: number;
  firstError?: string;
  /** Seconds from the first buyer to the last sale. */
  saleSeconds: number;
  /** Units sold per second of the sale. */
  throughput: number;
  /** A sale's latency. */
  p50Ms: number;
  p99Ms: number;
  /** A "sold out" answer's latency. */
  soldOutP50Ms: number;
  soldOutP99Ms: number;
  /** Units sold beyond the stock (orders for the SKU minus what the stock gave up). */
  oversold: number;
  /** Chunks the instances sent per buyer: the round trips a checkout takes, near enough. */
  roundTripsPerBuyer: number;
  cpuPer1000: { postgresSeconds: number; clientSeconds: number };
  /** True when the sale was cut at the time limit before every buyer was served. */
  cut: boolean;
  /** Instances whose warm-up checkout failed twice: they served the sale cold. */
  coldInstances: number;
  /** Set on the sales run for the hot-SKU bucket verdict, numbered from 1. */
  bucketTrial?: number;
}

const APPLICATION_NAME = "bench-lambda";
/**
 * The whole mode: for each delay, each instance count and each strategy, one sale of `stock` units
 * to ten times as many buyers, the instances each taking the next buyer when done with the last,
 * until every buyer is served or `maxSeconds` pass (then what is still in flight is cancelled).
 * Instances are opened once and kept warm across sales, as Lambda keeps them across invocations;
 * the largest count is opened and the smaller ones use its first instances.
 */
export async function runLambdaMode(options: {
  admin: pg.Client;
  /** The database's URL; the instances reach it through the proxy. */
  url: string;
  postmasterPid: number;
  delaysMs: number[];
  instanceCounts: number[];
  stock: number;
  maxSeconds: number;
  /**
   * Points at which to measure flashstock's sale with its stock spread over one SKU per instance
   * (`trials` times), and its one-row sale again (`trials - 1` times), for the bucket verdict.
   */
  bucketTrials?: { delayMs: number; instances: number; trials: number }[];
  log: (line: string) => void;
}): Promise<LambdaResult[]> {
  const { admin } = options;
  const direct = new URL(options.url);
  const proxy = await startDelayProxy(Number(direct.port));
  const viaProxy = new URL(options.url);
  viaProxy.hostname = "127.0.0.1";
  viaProxy.port = String(proxy.port);
  viaProxy.searchParams.set("application_name", APPLICATION_NAME);
  const most = Math.max(...options.instanceCounts);
  const opened = new Map<InstanceKind, Instance[]>();
  const results: LambdaResult[] = [];
  let sale = 0;
  try {
    for (const strategy of lambdaStrategies) {
      if (opened.has(strategy.kind)) continue;
      const instances: Instance[] = [];
      // A few at a time: each connection's SCRAM handshake is CPU work on both sides.
      for (let i = 0; i < most; i += 16) {
        instances.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(16, most - i) }, () =>
              openInstance(strategy.kind, viaProxy.toString()),
            ),
          )),
        );
      }
      opened.set(strategy.kind, instances);
      await warmUp(options.admin, instances, strategy);
    }
    for (const delayMs of options.delaysMs) {
      for (const count of options.instanceCounts) {
        for (const strategy of lambdaStrategies) {
          proxy.delayMs = delayMs;
          const instances = (opened.get(strategy.kind) as Instance[]).slice(0, count);
          const result = await runSale({
            ...options,
            proxy,
            strategy,
            instances,
            delayMs,
            tag: `${strategy.name}-${count}-${delayMs}-${++sale}`,
          });
          results.push(result);
          options.log(formatLambda(result));
        }
      }
    }
    // The most hot-SKU buckets could give: flashstock with no stock row shared by buyers served at
    // once (one SKU per instance), against the one-row sale at the same point, in alternation so
    // that both see the machine alike (the one-row sale of the table above counts as the first).
    const flashstock = lambdaStrategies.find((s) => s.name === "flashstock") as LambdaStrategy;
    for (const { delayMs, instances: count, trials } of options.bucketTrials ?? []) {
      for (let trial = 1; trial <= trials; trial++) {
        for (const skuCount of trial === 1 ? [count] : [1, count]) {
          proxy.delayMs = delayMs;
          const result = await runSale({
            ...options,
            proxy,
            strategy: flashstock,
            instances: (opened.get(flashstock.kind) as Instance[]).slice(0, count),
            delayMs,
            tag: `bucket-trial-${count}-${delayMs}-${++sale}`,
            skuCount,
          });
          results.push({ ...result, bucketTrial: trial });
          options.log(formatLambda(result));
        }
      }
    }
  } finally {
    for (const instances of opened.values()) await Promise.all(instances.map((i) => i.close()));
    await proxy.close();
  }
  return results;
}

/**
 * A few checkouts on every new instance before any sale, as a function instance that has been
 * serving a while: Postgres plans a statement of a PL/pgSQL function afresh on each of its first
 * five runs in a session before it keeps a generic plan, and measured without this the first sale
 * at 256 instances sold at half the rate of the third.
 */
async function warmUp(admin: pg.Client, instances: Instance[], strategy: LambdaStrategy) {
  const rounds = 6;
  const sku = `LAMBDA-WARM-UP-${strategy.kind}`.toUpperCase();
  await emptyOrderTables(admin);
  await createHotSku(admin, sku, instances.length * rounds);
  const carts = await prepareCarts(admin, sku, instances.length * rounds, null);
  await settleSaleInputs(admin);
  await serveWarmUps(strategy, instances, carts, sku, rounds, "warm-up");
}

/**
 * Each instance serves `rounds` checkouts from `carts` (instance i takes carts i * rounds on), a
 * failed one tried once more with the same cart, whose failed attempt left nothing behind. Returns
 * the instances whose checkout failed twice: they go on cold.
 */
async function serveWarmUps(
  strategy: LambdaStrategy,
  instances: Instance[],
  carts: PreparedCart[],
  sku: string,
  rounds: number,
  tag: string,
): Promise<number> {
  let cold = 0;
  await Promise.all(
    instances.map(async (instance, i) => {
      let failed = false;
      for (let round = 0; round < rounds; round++) {
        const cart = carts[i * rounds + round] as PreparedCart;
        const attempt = () =>
          strategy.serve(instance, cart, sku, tag).catch((): Outcome => "error");
        if ((await attempt()) !== "sold" && (await attempt()) !== "sold") failed = true;
      }
      if (failed) cold++;
    }),
  );
  return cold;
}

async function runSale(options: {
  admin: pg.Client;
  postmasterPid: number;
  proxy: DelayProxy;
  strategy: LambdaStrategy;
  instances: Instance[];
  delayMs: number;
  stock: number;
  maxSeconds: number;
  tag: string;
  /** SKUs the sale's stock is spread over; 1 (one hot row) unless measuring the bound. */
  skuCount?: number;
}): Promise<LambdaResult> {
  const { admin, strategy, instances, delayMs, stock, proxy } = options;
  const sku = `LAMBDA-${options.tag}`.toUpperCase();
  const warmSku = `${sku}-WARM`;
  // One hot SKU, or (the bound on hot-SKU buckets) the stock spread over `skuCount` SKUs, whose
  // buyers arrive in turn, so that buyers served at once do not share a stock row.
  const skuCount = options.skuCount ?? 1;
  const skus = skuCount === 1 ? [sku] : Array.from({ length: skuCount }, (_, i) => `${sku}-${i}`);
  // The same units and buyers as the one-row sale, the remainder one more unit on the first SKUs.
  const unitsOf = (i: number) => Math.floor(stock / skuCount) + (i < stock % skuCount ? 1 : 0);
  const units = stock;
  await emptyOrderTables(admin);
  for (const [i, s] of skus.entries()) await createHotSku(admin, s, unitsOf(i));
  const cartsPerSku: PreparedCart[][] = [];
  for (const [i, s] of skus.entries()) {
    cartsPerSku.push(await prepareCarts(admin, s, unitsOf(i) * 10, null));
  }
  // In turn: the first buyer of each SKU, then the second of each, and so on.
  const buyers = (cartsPerSku[0] ?? []).flatMap((_, i) =>
    cartsPerSku.flatMap((carts) => (carts[i] ? [carts[i]] : [])),
  );
  // Instances were warmed when opened (warmUp). A pool of one may have closed its idle connection
  // since (after 30 s, during other strategies' sales), so each serves one checkout of another
  // product first and the sale does not pay the reconnection. Plain clients never close, and
  // their warm-ups would take turns on the warm SKU's row lock across every round trip (25 s at
  // 256 instances, 5 ms): they have none.
  const rewarm = strategy.kind === "pool-of-one";
  if (rewarm) await createHotSku(admin, warmSku, instances.length);
  const warmCarts = rewarm ? await prepareCarts(admin, warmSku, instances.length, null) : [];
  await settleSaleInputs(admin);
  const cold = rewarm
    ? await serveWarmUps(strategy, instances, warmCarts, warmSku, 1, options.tag)
    : 0;

  const writesBefore = proxy.clientWrites;
  const cpuBefore = {
    postgres: postgresCpuSeconds(options.postmasterPid),
    client: clientCpuSeconds(),
  };
  const sales: number[] = [];
  const soldOut: number[] = [];
  const counts = { sold: 0, refused: 0, errors: 0 };
  let firstError: string | undefined;
  let next = 0;
  let lastSale = 0;
  let cut = false;
  const start = performance.now();
  const deadline = start + options.maxSeconds * 1000;
  // At the deadline, what still waits (on a row lock, mostly) is cancelled, so that a strategy
  // that cannot finish costs the time limit, not the time its queue would take to drain.
  let cancelling: ReturnType<typeof setInterval> | undefined;
  const canceller = setTimeout(() => {
    cut = true;
    let sending = false;
    cancelling = setInterval(() => {
      // One cancel at a time on the admin connection: it answers one query at a time.
      if (sending) return;
      sending = true;
      admin
        .query(
          "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'",
          [APPLICATION_NAME],
        )
        .catch(() => {})
        .finally(() => {
          sending = false;
        });
    }, 50);
  }, options.maxSeconds * 1000);
  await Promise.all(
    instances.map(async (instance) => {
      while (next < buyers.length && performance.now() < deadline) {
        const cart = buyers[next++] as PreparedCart;
        const t0 = performance.now();
        let outcome: Outcome;
        try {
          outcome = await strategy.serve(instance, cart, sku, options.tag);
        } catch (err) {
          outcome = "error";
          if (!cut) firstError ??= err instanceof Error ? err.message : String(err);
        }
        const t1 = performance.now();
        if (outcome === "sold") {
          counts.sold++;
          sales.push(t1 - t0);
          lastSale = Math.max(lastSale, t1);
        } else if (outcome === "refused") {
          counts.refused++;
          soldOut.push(t1 - t0);
        } else if (!cut) counts.errors++;
      }
    }),
  );
  clearTimeout(canceller);
  clearInterval(cancelling);
  if (cut) {
    // A cancel sent just before the interval stopped may still land: let it, then tidy up.
    await new Promise((r) => setTimeout(r, 200));
    await Promise.all(instances.map((i) => i.reset()));
  }
  const served = counts.sold + counts.refused + counts.errors;
  const writes = proxy.clientWrites - writesBefore;
  const clientSeconds = clientCpuSeconds() - cpuBefore.client;
  const postgresSeconds = postgresCpuSeconds(options.postmasterPid) - cpuBefore.postgres;

  const { rows } = await admin.query<{ ordered: number; taken: number }>(
    `SELECT coalesce((SELECT sum(quantity) FROM order_lines WHERE sku = ANY($1)), 0)::int AS ordered,
            ($2 - (SELECT sum(available) FROM stock WHERE sku = ANY($1)))::int AS taken`,
    [skus, units],
  );
  const ordered = rows[0]?.ordered ?? 0;
  const taken = rows[0]?.taken ?? 0;
  const saleSeconds = ((lastSale || performance.now()) - start) / 1000;
  const sortedSales = Float64Array.from(sales).sort();
  const sortedSoldOut = Float64Array.from(soldOut).sort();
  const soldUnits = Math.max(ordered, 1);
  return {
    strategy: skuCount === 1 ? strategy.name : `${strategy.name}-unshared`,
    instances: instances.length,
    delayMs,
    stock: units,
    buyers: buyers.length,
    ...counts,
    ...(firstError ? { firstError } : {}),
    saleSeconds,
    throughput: counts.sold / saleSeconds,
    p50Ms: percentile(sortedSales, 50),
    p99Ms: percentile(sortedSales, 99),
    soldOutP50Ms: percentile(sortedSoldOut, 50),
    soldOutP99Ms: percentile(sortedSoldOut, 99),
    // Units in orders beyond what the stock gave up: read-then-write's lost updates show here.
    oversold: ordered - taken,
    roundTripsPerBuyer: writes / Math.max(served, 1),
    cpuPer1000: {
      postgresSeconds: (postgresSeconds / soldUnits) * 1000,
      clientSeconds: (clientSeconds / soldUnits) * 1000,
    },
    cut: cut || served < buyers.length,
    coldInstances: cold,
  };
}

export function formatLambda(r: LambdaResult): string {
  return `lambda ${r.strategy.padEnd(18)} ${String(r.instances).padStart(3)} instances ${r.delayMs} ms  ${fmt(r.throughput).padStart(6)}/s  sold ${r.sold}/${r.stock}  p99 ${fmt(r.p99Ms, 1)} ms  sold-out p99 ${fmt(r.soldOutP99Ms, 1)} ms  oversold ${r.oversold}  round trips ${fmt(r.roundTripsPerBuyer, 1)}  errors ${r.errors}${r.cut ? "  (cut at the time limit)" : ""}${r.firstError ? `  (${r.firstError})` : ""}`;
}
