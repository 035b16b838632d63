import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { issueToken } from "@flashstock/core/auth/index";
import { createDb } from "@flashstock/core/db/index";
import { migrate } from "@flashstock/core/db/migrate";
import { freePort } from "@flashstock/testing/ports";
import { startLocalRuntime } from "@flashstock/testing/runtime";
import autocannon from "autocannon";
import pg from "pg";
import { percentile } from "./load.ts";
import { createHotSku, strategies } from "./strategies.ts";

const ceilingStrategy = strategies.find((s) => s.name === "ceiling") as (typeof strategies)[number];

const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const JWT_SECRET = "bench-secret-that-is-at-least-32-characters-long";

export interface HttpResult {
  /** The raw conditional decrement on the same database at the same concurrency, just before. */
  ceiling: number;
  /** Whether the runtime's queue consumers and schedules ran during the sale, as under npm start. */
  consumers: boolean;
  connections: number;
  buyers: number;
  stock: number;
  sold: number;
  refused: number;
  other: number;
  /** Units sold per second, from the first request to the last 201. */
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  /** Orders in the database for the SKU and what the stock gave up: both must equal `stock`. */
  ordersInDatabase: number;
  stockLeft: number;
}

/** Starts the local runtime (what npm start runs) on the given database. */
async function startRuntime(databaseUrl: string, poolMax: number, consumers: boolean) {
  return startLocalRuntime(
    {
      DATABASE_URL: databaseUrl,
      JWT_SECRET,
      PORT: String(await freePort()),
      SES_PORT: String(await freePort()),
      DB_POOL_MAX: String(poolMax),
      SEED_DEMO: "0",
      LOCAL_CONSUMERS: consumers ? "1" : "0",
      POWERTOOLS_LOG_LEVEL: "ERROR",
      DATA_DIR: `${repoRoot}bench/.bundles/runtime`,
    },
    { nodeArgs: process.env.BENCH_RUNTIME_NODE_ARGS?.split(" ") },
  );
}

interface Buyer {
  token: string;
  cartId: string;
}

async function prepareSale(db: pg.Client, sku: string, stock: number, buyers: number) {
  await createHotSku(db, sku, stock);
  const { rows } = await db.query<{ id: string; email: string; created_at: Date; cart_id: string }>(
    `WITH u AS (
       INSERT INTO users (email, password_hash, name, role)
       SELECT $1 || '-' || g || '@example.com', 'not-a-hash', 'Buyer ' || g, 'customer'
         FROM generate_series(1, $2) g
       RETURNING id, email, created_at),
     c AS (INSERT INTO carts (customer_id) SELECT id FROM u RETURNING id, customer_id),
     i AS (INSERT INTO cart_items (cart_id, sku, quantity) SELECT id, $3, 1 FROM c)
     SELECT u.id, u.email, u.created_at, c.id AS cart_id FROM u JOIN c ON c.customer_id = u.id`,
    [sku.toLowerCase(), buyers, sku],
  );
  return Promise.all(
    rows.map(
      async (r): Promise<Buyer> => ({
        cartId: r.cart_id,
        token: await issueToken({ secret: JWT_SECRET }, { id: r.id, role: "customer" }),
      }),
    ),
  );
}

function drive(url: string, connections: number, buyers: Buyer[]) {
  return new Promise<{ statuses: Map<number, number>; latencies: number[]; seconds: number }>(
    (resolve, reject) => {
      const statuses = new Map<number, number>();
      const latencies: number[] = [];
      let next = 0;
      let last201 = 0;
      const start = performance.now();
      const body = (cartId: string) =>
        JSON.stringify({
          cartId,
          shippingAddress: {
            name: "Buyer",
            line1: "1 Flash Street",
            city: "Berlin",
            postalCode: "10115",
            country: "DE",
          },
          payment: { method: "cash_on_delivery" },
        });
      const instance = autocannon(
        {
          url,
          connections,
          amount: buyers.length,
          timeout: 30,
          requests: [
            {
              method: "POST",
              path: "/checkout",
              setupRequest: (req) => {
                const buyer = buyers[next++ % buyers.length] as Buyer;
                return {
                  ...req,
                  headers: {
                    "content-type": "application/json",
                    authorization: `Bearer ${buyer.token}`,
                    "idempotency-key": randomUUID(),
                  },
                  body: body(buyer.cartId),
                };
              },
            },
          ],
        },
        (err) => {
          if (err) reject(err);
          else resolve({ statuses, latencies, seconds: (last201 - start) / 1000 });
        },
      );
      instance.on("response", (_client, statusCode, _bytes, responseTime) => {
        statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
        latencies.push(responseTime);
        if (statusCode === 201) last201 = performance.now();
      });
    },
  );
}

/**
 * The flash sale end to end: the local runtime's POST /checkout over real HTTP, driven by
 * autocannon, one distinct customer and cart per request, more buyers than units.
 */
export async function runHttpFlashSale(options: {
  adminUrl: string;
  connectionsList: number[];
  /** false: consumers idle, the checkout path alone (in the cloud consumers are other Lambdas). */
  consumers: boolean;
  stock?: number;
  log: (line: string) => void;
}): Promise<HttpResult[]> {
  const name = `flashstock_http_${options.consumers ? "with_consumers" : "alone"}`;
  const admin = new pg.Client({ connectionString: options.adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = options.adminUrl.replace(/\/postgres$/, `/${name}`);
  const migrator = createDb({ url, max: 1 });
  await migrate(migrator);
  await migrator.end();

  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const runtime = await startRuntime(url, Math.max(...options.connectionsList), options.consumers);
  const results: HttpResult[] = [];
  try {
    for (const connections of options.connectionsList) {
      const stock = options.stock ?? 4000;
      const buyers = Math.round(stock * 1.2);
      const sku = `HTTP-${connections}`;
      const prepared = await prepareSale(db, sku, stock, buyers);
      // Open the runtime's pool to this many connections first, as the ceiling's are open before
      // it is timed: a new Postgres connection costs a SCRAM handshake (PBKDF2) on both sides.
      const poolMax = Math.max(...options.connectionsList);
      await autocannon({
        url: `${runtime.url}/health`,
        connections: poolMax,
        amount: poolMax * 20,
      });
      // The ceiling again, on this database, just before the sale: the ratio compares neighbours.
      const ceilingSku = `${sku}-CEILING`;
      await createHotSku(db, ceilingSku);
      const ceiling = await ceilingStrategy.run({
        url,
        sku: ceilingSku,
        carts: [],
        connections,
        seconds: 3,
        warmupSeconds: 1,
        tag: ceilingSku,
      });
      await db.query("CHECKPOINT");
      const run = await drive(runtime.url, connections, prepared);
      const sorted = Float64Array.from(run.latencies).sort();
      const check = await db.query<{ orders: number; available: number }>(
        `SELECT (SELECT count(*)::int FROM order_lines WHERE sku = $1) AS orders,
                (SELECT available FROM stock WHERE sku = $1) AS available`,
        [sku],
      );
      const sold = run.statuses.get(201) ?? 0;
      const refused = run.statuses.get(409) ?? 0;
      const result: HttpResult = {
        ceiling: ceiling.throughput,
        consumers: options.consumers,
        connections,
        buyers,
        stock,
        sold,
        refused,
        other: buyers - sold - refused,
        throughput: sold / run.seconds,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        ordersInDatabase: check.rows[0]?.orders ?? -1,
        stockLeft: check.rows[0]?.available ?? -1,
      };
      results.push(result);
      options.log(
        `http ${connections} conns${options.consumers ? " (consumers running)" : ""}: ${sold} sold of ${stock} (${result.ordersInDatabase} orders in the database, ${result.stockLeft} left), ${refused} x 409, ${result.other} other, ${result.throughput.toFixed(0)}/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`,
      );
    }
  } finally {
    await runtime.stop();
    await db.end();
  }
  return results;
}
