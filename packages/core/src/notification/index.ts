import type { Queryable } from "../db/types.ts";
import type { InventoryEventData } from "../inventory/events.ts";
import type { Order } from "../order/index.ts";
import type { Email } from "./mailer.ts";
import { webLink, webPage } from "./web-pages.ts";

/**
 * The emails the system sends, composed from facts read in the consumer's transaction. Pure
 * functions of their input, so the words are tested without a mail server; sending is the
 * Mailer's job.
 */

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );

const money = (cents: number, currency: string) => `${(cents / 100).toFixed(2)} ${currency}`;

/** A text body and an HTML body from the same paragraphs and tables, so the two never disagree. */
type Block =
  | { p: string }
  /** A sentence and the page it points to: the URL in the text, a link in the HTML. */
  | { link: { before: string; href: string; text: string } }
  | { table: [string, string][] }
  | { lines: Order["lines"]; currency: string };

function render(blocks: Block[]): { text: string; html: string } {
  const text: string[] = [];
  const html: string[] = [];
  for (const b of blocks) {
    if ("p" in b) {
      text.push(b.p);
      html.push(`<p>${escapeHtml(b.p)}</p>`);
    } else if ("link" in b) {
      const { before, href, text: label } = b.link;
      text.push(`${before} ${href}`);
      html.push(
        `<p>${escapeHtml(before)} <a href="${escapeHtml(href)}">${escapeHtml(label)}</a></p>`,
      );
    } else if ("table" in b) {
      const width = Math.max(...b.table.map(([k]) => k.length));
      text.push(b.table.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join("\n"));
      html.push(
        `<table>${b.table
          .map(
            ([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`,
          )
          .join("")}</table>`,
      );
    } else {
      const rows = b.lines.map(
        (l) =>
          [
            l.sku,
            l.name,
            String(l.quantity),
            money(l.unitPriceCents * l.quantity, b.currency),
          ] as const,
      );
      text.push(rows.map((r) => `  ${r[2]} x ${r[1]} (${r[0]})  ${r[3]}`).join("\n"));
      html.push(
        `<table><tr><th>SKU</th><th>Product</th><th>Qty</th><th>Amount</th></tr>${rows
          .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`)
          .join("")}</table>`,
      );
    }
  }
  return {
    text: `${text.join("\n\n")}\n`,
    html: `<!doctype html><html><body>${html.join("\n")}</body></html>`,
  };
}

// ---- Stock alerts -------------------------------------------------------------------------------

export interface SalesFacts {
  sku: string;
  name: string;
  /** Now, when the email is composed; the event's figure is the one at the crossing. */
  availableNow: number;
  minQuantity: number;
  /** Units sold net of cancellations. */
  soldLast24h: number;
  soldLast7d: number;
}

/**
 * What the stock manager needs to decide on a reorder, read now: for one SKU when an alert is
 * composed, for every SKU in the inventory report. One query for both, so they always agree.
 */
export async function salesFacts(db: Queryable): Promise<SalesFacts[]>;
export async function salesFacts(db: Queryable, sku: string): Promise<SalesFacts | undefined>;
export async function salesFacts(
  db: Queryable,
  sku?: string,
): Promise<SalesFacts[] | SalesFacts | undefined> {
  const { rows } = await db.query<SalesFacts>(
    `SELECT s.sku, p.name, s.available AS "availableNow", s.min_quantity AS "minQuantity",
            coalesce(-sum(m.delta) FILTER (WHERE m.at > now() - interval '24 hours'), 0)::int AS "soldLast24h",
            coalesce(-sum(m.delta), 0)::int AS "soldLast7d"
       FROM stock s
       JOIN products p ON p.sku = s.sku
       LEFT JOIN stock_movements m
         ON m.sku = s.sku AND m.reason IN ('sale', 'cancellation') AND m.at > now() - interval '7 days'
      WHERE $1::text IS NULL OR s.sku = $1
      GROUP BY s.sku, p.name
      ORDER BY s.sku`,
    [sku ?? null],
  );
  return sku === undefined ? rows : rows[0];
}

export interface ReorderAdvice {
  /** Units a day: the faster of the last 24 hours and the 7-day average, so a flash sale counts. */
  dailyRate: number;
  /** null when nothing sold: no stock-out is in sight. */
  daysToStockOut: number | null;
  /** Enough to cover `coverDays` at the daily rate and stay at or above the minimum. */
  suggestedReorder: number;
}

export function reorderAdvice(
  available: number,
  minQuantity: number,
  facts: Pick<SalesFacts, "soldLast24h" | "soldLast7d">,
  coverDays: number,
): ReorderAdvice {
  const dailyRate = Math.max(facts.soldLast24h, facts.soldLast7d / 7, 0);
  return {
    dailyRate,
    daysToStockOut: dailyRate > 0 ? available / dailyRate : null,
    suggestedReorder: Math.max(0, Math.ceil(dailyRate * coverDays) + minQuantity - available),
  };
}

function stockOutEstimate(days: number | null): string {
  if (days === null) return "no sales in the last 7 days";
  if (days === 0) return "now";
  if (days < 1) return `about ${Math.max(1, Math.round(days * 24))} hour(s) at the current rate`;
  return `about ${days.toFixed(1)} day(s) at the current rate`;
}

function stockFacts(
  event: InventoryEventData,
  facts: SalesFacts,
  advice: ReorderAdvice,
): [string, string][] {
  return [
    ["Product", facts.name],
    ["SKU", facts.sku],
    ["Available at the alert", String(event.available)],
    ["Available now", String(facts.availableNow)],
    ["Minimum", String(event.minQuantity)],
    ["Sold, last 24 hours", String(facts.soldLast24h)],
    ["Sold, last 7 days", String(facts.soldLast7d)],
    ["Rate", `${advice.dailyRate.toFixed(1)} units/day`],
    ["Estimated stock-out", stockOutEstimate(advice.daysToStockOut)],
    ["Suggested reorder", `${advice.suggestedReorder} units`],
  ];
}

const stockDashboardLink = (webUrl: string, sku: string) => ({
  before: "Restock it from the stock dashboard:",
  href: webLink(webUrl, webPage.stockItem(sku)),
  text: `${sku} in the stock dashboard`,
});

export function lowStockEmail(
  to: readonly string[],
  event: InventoryEventData,
  facts: SalesFacts,
  coverDays: number,
  webUrl: string,
): Email {
  const advice = reorderAdvice(event.available, event.minQuantity, facts, coverDays);
  return {
    to,
    subject: `Low stock: ${facts.name} (${facts.sku}) - ${event.available} left, minimum ${event.minQuantity}`,
    ...render([
      { p: `${facts.name} (${facts.sku}) fell below its minimum of ${event.minQuantity}.` },
      { table: stockFacts(event, facts, advice) },
      {
        p: `The suggestion covers ${coverDays} days at the current rate on top of the minimum. You will not hear about this product again until it is restocked to its minimum or above, unless it sells out.`,
      },
      { link: stockDashboardLink(webUrl, facts.sku) },
    ]),
  };
}

export function outOfStockEmail(
  to: readonly string[],
  event: InventoryEventData,
  facts: SalesFacts,
  coverDays: number,
  webUrl: string,
): Email {
  const advice = reorderAdvice(0, event.minQuantity, facts, coverDays);
  return {
    to,
    subject: `URGENT - Out of stock: ${facts.name} (${facts.sku}) - 0 left, minimum ${event.minQuantity}`,
    ...render([
      { p: `${facts.name} (${facts.sku}) is sold out. Customers can no longer buy it.` },
      { table: stockFacts(event, facts, advice) },
      { link: stockDashboardLink(webUrl, facts.sku) },
    ]),
  };
}

// ---- Orders -------------------------------------------------------------------------------------

export interface Customer {
  id: string;
  email: string;
  name: string;
}

export async function getCustomer(db: Queryable, id: string): Promise<Customer | undefined> {
  const { rows } = await db.query<Customer>("SELECT id, email, name FROM users WHERE id = $1", [
    id,
  ]);
  return rows[0];
}

const address = (a: Record<string, string>) =>
  [a.name, a.line1, a.line2, `${a.postalCode} ${a.city}`, a.country].filter(Boolean).join(", ");

const shortId = (id: string) => id.slice(0, 8);

export function orderConfirmationEmail(order: Order, customer: Customer): Email {
  return {
    to: [customer.email],
    subject: `Your order ${shortId(order.id)} is confirmed`,
    ...render([
      {
        p: `Hello ${customer.name}, thank you for your order. It is confirmed and on its way to fulfilment.`,
      },
      { lines: order.lines, currency: order.currency },
      {
        table: [
          ["Order", order.id],
          ...discountRows(order),
          ["Total", money(order.totalCents, order.currency)],
          ["Ship to", address(order.shippingAddress)],
        ],
      },
    ]),
  };
}

/** The subtotal and the code's discount, when a promotion took something off. */
const discountRows = (order: Order): [string, string][] =>
  order.discountCents > 0
    ? [
        ["Subtotal", money(order.subtotalCents, order.currency)],
        [`Discount (${order.promotionCode})`, `-${money(order.discountCents, order.currency)}`],
      ]
    : [];

function orderTable(order: Order): [string, string][] {
  return [
    ["Order", order.id],
    ["Status", order.status],
    ["Placed at", order.createdAt],
    ["Total", money(order.totalCents, order.currency)],
    ["Ship to", address(order.shippingAddress)],
  ];
}

export function heldOrderEmail(
  to: readonly string[],
  held: Order,
  original: Order,
  customer: Customer,
  urls: { api: string | undefined; web: string },
): Email {
  const base = urls.api?.replace(/\/$/, "") ?? "";
  return {
    to,
    subject: `Suspected duplicate order on hold: ${shortId(held.id)} from ${customer.email}`,
    ...render([
      {
        p: `Order ${held.id} from ${customer.name} <${customer.email}> (customer ${customer.id}) repeats order ${original.id}: same items, same quantities, same address. It has been placed on hold with its stock reserved, and will not be fulfilled until you release it.`,
      },
      { p: "The held order:" },
      { table: orderTable(held) },
      { lines: held.lines, currency: held.currency },
      { p: "The earlier order it repeats:" },
      { table: orderTable(original) },
      { lines: original.lines, currency: original.currency },
      {
        link: {
          before: "Release or cancel it on the ops desk, beside the order it repeats:",
          href: webLink(urls.web, webPage.opsOrder(held.id)),
          text: `order ${shortId(held.id)} on the ops desk`,
        },
      },
      {
        p: `Or through the API: if the customer meant to order twice, release it: POST ${base}/orders/${held.id}/release. If it is a duplicate, cancel it, which puts the stock back: POST ${base}/orders/${held.id}/cancel. Both need an ops or admin token.`,
      },
    ]),
  };
}

const paidWith: Record<Order["payment"]["method"], string> = {
  store_credit: "your store credit",
  cash_on_delivery: "cash on delivery",
  card: "your card",
};

/** What happened to the money of a cancelled order, in one sentence. */
function refundSentence(order: Order): string {
  const { payment } = order;
  const amount = money(payment.amountCents, order.currency);
  if (payment.status === "refunded") {
    return `${money(payment.refundedCents, order.currency)} went back to ${paidWith[payment.method]}.`;
  }
  if (payment.status === "refund_pending") {
    return `${amount} will be refunded to ${paidWith[payment.method]}; it can take a few days to show.`;
  }
  return payment.method === "cash_on_delivery"
    ? "You paid nothing: it was to be paid on delivery."
    : `You were not charged: the ${amount} payment was cancelled.`;
}

/** `reason`: why, when the cancellation gave one (an unpaid card order gives the system's). */
export function orderCancelledEmail(
  order: Order,
  customer: Customer,
  reason?: string | null,
): Email {
  const why = reason ? ` (${reason.replace(/\.$/, "")})` : "";
  return {
    to: [customer.email],
    subject: `Your order ${shortId(order.id)} is cancelled`,
    ...render([
      {
        p: `Hello ${customer.name}, your order ${order.id} is cancelled${why}. ${refundSentence(order)}`,
      },
      { lines: order.lines, currency: order.currency },
      {
        table: [
          ["Order", order.id],
          ["Total", money(order.totalCents, order.currency)],
          ["Paid with", paidWith[order.payment.method]],
        ],
      },
    ]),
  };
}

/** A card payment that arrived after its order was cancelled: it goes back, all of it. */
export function latePaymentRefundEmail(order: Order, customer: Customer): Email {
  const amount = money(order.payment.amountCents, order.currency);
  return {
    to: [customer.email],
    subject: `Your payment for order ${shortId(order.id)} is being refunded`,
    ...render([
      {
        p: `Hello ${customer.name}, your card payment of ${amount} for order ${order.id} arrived after the order was cancelled, so nothing will ship for it. The whole ${amount} is being refunded to your card; it can take a few days to show.`,
      },
      {
        table: [
          ["Order", order.id],
          ["Refund", amount],
        ],
      },
    ]),
  };
}

export function orderShippedEmail(order: Order, customer: Customer, webUrl: string): Email {
  const shipment = order.shipment;
  const tracking = shipment?.trackingUrl ?? `tracking number ${shipment?.trackingNumber ?? ""}`;
  return {
    to: [customer.email],
    subject: `Your order ${shortId(order.id)} is on its way`,
    ...render([
      {
        p: `Hello ${customer.name}, your order ${order.id} has left us with ${shipment?.carrier ?? "the carrier"}. Follow it here: ${tracking}`,
      },
      { lines: order.lines, currency: order.currency },
      {
        table: [
          ["Carrier", shipment?.carrier ?? ""],
          ["Tracking number", shipment?.trackingNumber ?? ""],
          ...(shipment?.trackingUrl
            ? [["Tracking", shipment.trackingUrl] as [string, string]]
            : []),
          ["Ship to", address(order.shippingAddress)],
        ],
      },
      {
        link: {
          before: "Your order, as it moves:",
          href: webLink(webUrl, webPage.order(order.id)),
          text: `order ${shortId(order.id)}`,
        },
      },
    ]),
  };
}

/** The link that lets an account's owner choose a new password: single use, 30 minutes. */
export function passwordResetEmail(
  to: { email: string; name: string },
  link: string,
  validMinutes: number,
): Email {
  return {
    to: [to.email],
    subject: "Reset your password",
    ...render([
      {
        p: `Hello ${to.name}, someone (hopefully you) asked to reset the password of this account.`,
      },
      { p: `To choose a new password, open this link within ${validMinutes} minutes: ${link}` },
      { p: "It works once. If you did not ask for it, ignore this email: nothing has changed." },
    ]),
  };
}
