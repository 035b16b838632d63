/**
 * Reports for the staff dashboard: sales per day with the top products and the orders by status,
 * and the inventory with each SKU's sales velocity and reorder advice, computed by the same
 * functions as the low-stock email, so that the dashboard and the inbox never disagree.
 *
 * Days are UTC dates. A sale is an order that is not cancelled and not awaiting its card payment
 * (held duplicates count: their stock is taken); its revenue is the order's total after discounts,
 * and a product's revenue is its lines at their unit prices (before an order-wide discount).
 */
import type { Queryable } from "../db/index.ts";
import { reorderAdvice, salesFacts } from "../notification/index.ts";
import * as z from "../zod.ts";

/** The most days one sales report covers. */
export const MAX_REPORT_DAYS = 366;
const DAY_MS = 86_400_000;

const IsoDate = z.iso.date({ message: "must be a date, YYYY-MM-DD" });

export const SalesReportQuery = z.strictObject({ from: IsoDate, to: IsoDate }).check(
  z.refine((q) => q.from <= q.to, { message: "must not be before from", path: ["to"] }),
  z.refine((q) => (Date.parse(q.to) - Date.parse(q.from)) / DAY_MS + 1 <= MAX_REPORT_DAYS, {
    message: `at most ${MAX_REPORT_DAYS} days from from`,
    path: ["to"],
  }),
);
export type SalesReportQuery = z.infer<typeof SalesReportQuery>;

export const orderStatuses = [
  "awaiting_payment",
  "placed",
  "on_hold",
  "confirmed",
  "shipped",
  "delivered",
  "cancelled",
] as const;

export const SalesReport = z.object({
  days: z.array(
    z.object({
      date: z.string(),
      orders: z.int(),
      units: z.int(),
      /** Left out for stock managers, who see units only. */
      revenueCents: z.optional(z.int()),
    }),
  ),
  topProducts: z.array(
    z.object({
      sku: z.string(),
      name: z.string(),
      units: z.int(),
      revenueCents: z.optional(z.int()),
    }),
  ),
  /** Orders placed in the range, by their status now; every status is listed. */
  byStatus: z.object({
    awaiting_payment: z.int(),
    placed: z.int(),
    on_hold: z.int(),
    confirmed: z.int(),
    shipped: z.int(),
    delivered: z.int(),
    cancelled: z.int(),
  }),
});
export type SalesReport = z.infer<typeof SalesReport>;

/** The products listed under `topProducts`, by units sold. */
export const TOP_PRODUCTS = 10;

/** Orders created from the first UTC day ($1) to the last ($2), both whole days included. */
const createdInRange = `
  o.created_at >= ($1::date)::timestamp AT TIME ZONE 'UTC'
  AND o.created_at < ($2::date + 1)::timestamp AT TIME ZONE 'UTC'`;

const salesInRange = `
  sold AS (
    SELECT o.id, o.total_cents, (o.created_at AT TIME ZONE 'UTC')::date AS day
      FROM orders o
     WHERE ${createdInRange}
       AND o.status NOT IN ('cancelled', 'awaiting_payment')
  )`;

async function salesPerDay(db: Queryable, q: SalesReportQuery) {
  const { rows } = await db.query<{ date: string; orders: number; units: number; revenue: string }>(
    `WITH ${salesInRange},
     units AS (
       SELECT s.id, s.day, s.total_cents, sum(l.quantity) AS units
         FROM sold s JOIN order_lines l ON l.order_id = s.id
        GROUP BY s.id, s.day, s.total_cents
     )
     SELECT to_char(d.day, 'YYYY-MM-DD') AS date, count(u.id)::int AS orders,
            coalesce(sum(u.units), 0)::int AS units, coalesce(sum(u.total_cents), 0)::text AS revenue
       FROM generate_series($1::date, $2::date, interval '1 day') AS d(day)
       LEFT JOIN units u ON u.day = d.day::date
      GROUP BY d.day
      ORDER BY d.day`,
    [q.from, q.to],
  );
  return rows;
}

async function topProducts(db: Queryable, q: SalesReportQuery) {
  const { rows } = await db.query<{ sku: string; name: string; units: number; revenue: string }>(
    `WITH ${salesInRange}
     SELECT l.sku, coalesce(max(p.name), max(l.name)) AS name, sum(l.quantity)::int AS units,
            sum(l.quantity * l.unit_price_cents)::text AS revenue
       FROM sold s
       JOIN order_lines l ON l.order_id = s.id
       LEFT JOIN products p ON p.sku = l.sku
      GROUP BY l.sku
      ORDER BY units DESC, l.sku
      LIMIT ${TOP_PRODUCTS}`,
    [q.from, q.to],
  );
  return rows;
}

async function ordersByStatus(db: Queryable, q: SalesReportQuery) {
  const { rows } = await db.query<{ status: (typeof orderStatuses)[number]; count: number }>(
    `SELECT o.status, count(*)::int AS count
       FROM orders o
      WHERE ${createdInRange}
      GROUP BY o.status`,
    [q.from, q.to],
  );
  const counts = Object.fromEntries(orderStatuses.map((s) => [s, 0])) as SalesReport["byStatus"];
  for (const r of rows) counts[r.status] = r.count;
  return counts;
}

/** Sales between two UTC dates, both included; revenue only for those who may see money. */
export async function salesReport(
  db: Queryable,
  query: SalesReportQuery,
  options: { withRevenue: boolean },
): Promise<SalesReport> {
  const [days, top, byStatus] = await Promise.all([
    salesPerDay(db, query),
    topProducts(db, query),
    ordersByStatus(db, query),
  ]);
  const revenue = (cents: string) => (options.withRevenue ? { revenueCents: Number(cents) } : {});
  return {
    days: days.map((d) => ({
      date: d.date,
      orders: d.orders,
      units: d.units,
      ...revenue(d.revenue),
    })),
    topProducts: top.map((p) => ({
      sku: p.sku,
      name: p.name,
      units: p.units,
      ...revenue(p.revenue),
    })),
    byStatus,
  };
}

export const InventoryReport = z.object({
  items: z.array(
    z.object({
      sku: z.string(),
      name: z.string(),
      available: z.int(),
      minQuantity: z.int(),
      soldLast24h: z.int(),
      soldLast7d: z.int(),
      /** Units a day: the faster of the last 24 hours and the 7-day average. */
      dailyRate: z.number(),
      /** Days until the stock runs out at that rate; null when nothing sold in 7 days. */
      daysOfCover: z.nullable(z.number()),
      suggestedReorder: z.int(),
    }),
  ),
});
export type InventoryReport = z.infer<typeof InventoryReport>;

/** Every SKU with its velocity and reorder advice, as the stock alerts compute them. */
export async function inventoryReport(
  db: Queryable,
  options: { coverDays: number },
): Promise<InventoryReport> {
  const facts = await salesFacts(db);
  return {
    items: facts.map((f) => {
      const advice = reorderAdvice(f.availableNow, f.minQuantity, f, options.coverDays);
      return {
        sku: f.sku,
        name: f.name,
        available: f.availableNow,
        minQuantity: f.minQuantity,
        soldLast24h: f.soldLast24h,
        soldLast7d: f.soldLast7d,
        dailyRate: advice.dailyRate,
        daysOfCover: advice.daysToStockOut,
        suggestedReorder: advice.suggestedReorder,
      };
    }),
  };
}
