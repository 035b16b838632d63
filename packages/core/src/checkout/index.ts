import { createHash } from "node:crypto";
import type { Principal } from "../auth/index.ts";
import { CartId } from "../cart/index.ts";
import { batched, perKey } from "../db/coalesce.ts";
import type { Queryable } from "../db/types.ts";
import { DomainError, insufficientStock, serviceUnavailable } from "../error.ts";
import type { DomainEvent } from "../events/index.ts";
import { collectCommittedEvents } from "../events/outbox.ts";
import { findOrder, Order, PaymentMethod } from "../order/index.ts";
import * as z from "../zod.ts";

const Line = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));

export const ShippingAddress = z.strictObject({
  name: Line(200),
  line1: Line(200),
  // Storefronts send an empty optional field as null as often as they leave it out.
  line2: z.optional(
    z.pipe(
      z.nullish(z.string().check(z.trim(), z.maxLength(200))),
      z.transform((v) => v || undefined),
    ),
  ),
  city: Line(100),
  postalCode: Line(20),
  // Checked before upper-casing: "ß".toUpperCase() is "SS".
  country: z
    .string()
    .check(
      z.trim(),
      z.regex(/^[A-Za-z]{2}$/, "an ISO 3166-1 alpha-2 code such as DE"),
      z.toUpperCase(),
    ),
});
export type ShippingAddress = z.infer<typeof ShippingAddress>;

export const CheckoutInput = z.strictObject({
  cartId: CartId,
  shippingAddress: ShippingAddress,
  payment: z.strictObject({ method: PaymentMethod }),
  /**
   * The total the storefront showed: if the order's total is another (a price changed since),
   * nothing is bought and the answer is 409 PRICE_CHANGED.
   */
  expectedTotalCents: z.optional(z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER))),
});
export type CheckoutInput = z.infer<typeof CheckoutInput>;

/**
 * RFC draft "The Idempotency-Key HTTP Header Field": an opaque string. We take 1-255 printable
 * ASCII characters, not starting or ending with a space (HTTP would trim those anyway).
 */
export const IdempotencyKey = z
  .string({ message: "the Idempotency-Key header is required" })
  .check(
    z.regex(
      /^[\x21-\x7E](?:[\x20-\x7E]{0,253}[\x21-\x7E])?$/,
      "1-255 printable ASCII characters, not starting or ending with a space",
    ),
  );

export interface PlaceOrderResult {
  order: Order;
  /** True when this is the stored answer to an earlier request with the same key. */
  replayed: boolean;
}

/** Stable JSON (sorted keys), so that the same request always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export const requestHash = (input: CheckoutInput) =>
  createHash("sha256").update(canonical(input)).digest("hex");

/**
 * The address as a duplicate detector should see it: case, spacing and Unicode compatibility forms
 * folded, so that "10  Main St." and "10 main st." are the same place.
 */
export function addressKey(a: ShippingAddress): string {
  const fold = (s: string | undefined) =>
    (s ?? "").normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
  return [a.name, a.line1, a.line2, a.city, a.postalCode.replace(/\s+/g, ""), a.country]
    .map(fold)
    .join("\n");
}

/**
 * The order as the first answer gave it. A key stored before orders carried their payment and
 * history (within a day of an upgrade) replays the order as it is now instead.
 */
async function answerOf(db: Queryable, stored: unknown): Promise<Order> {
  const parsed = Order.safeParse(stored);
  if (parsed.success) return parsed.data;
  const id = (stored as { id?: string } | null)?.id;
  const current = id ? await findOrder(db, id) : undefined;
  if (!current) throw new Error("place_order answered no order");
  return current;
}

/**
 * How a checkout waits for its order to reach disk before answering:
 * - `in-call`: inside its one database call (place_order_durably), one round trip, with a flush
 *   transaction of its own;
 * - `shared`: place_order, then the flush that the process's concurrent checkouts share
 *   (durable_orders), two round trips and one flush transaction for all of them.
 */
export type FlushMode = "in-call" | "shared";

export interface PlaceOrderOptions {
  /**
   * An order equal to one of the customer's orders from this many minutes back (not cancelled) is
   * placed on hold as a suspected duplicate. 0 turns the check off.
   */
  duplicateWindowMinutes: number;
  /** Whether card payments can be taken (a payment provider is configured). */
  cardPayments: boolean;
  /** Chosen per checkout when left out (see flushModeFor); tests name it. */
  flush?: FlushMode;
}

// One flush covers every commit written before it began, so concurrent checkouts share one call
// (durable_orders.sql beside this file), each learning whether its own order survived.
const durableOrdersOf = perKey((db: Queryable) =>
  batched(async (ids: string[]) => {
    const { rows } = await db.query<{ id: string }>(
      "SELECT id FROM durable_orders($1::uuid[]) AS id",
      [ids],
    );
    return new Set(rows.map((r) => r.id));
  }),
);

/** Checkouts of this process in progress, per database. */
const inProgress = new WeakMap<Queryable, number>();

/**
 * Alone (a Lambda instance serves one request at a time), a checkout flushes in its own call: one
 * round trip fewer, which is what a function far from its database pays for most. Beside other
 * checkouts of the same process it joins their shared flush instead: its connection goes back to
 * the pool while the disk works (the local runtime's pool of 20 serves 32-64 requests at once), and
 * one flush transaction covers many orders instead of one each.
 */
function flushModeFor(db: Queryable): FlushMode {
  return (inProgress.get(db) ?? 0) > 0 ? "shared" : "in-call";
}

type PlaceOrderAnswer = { replayed: boolean; order: unknown; events: DomainEvent[] };

/**
 * Turns a cart into an order in one database call (place_order.sql beside this file): the
 * idempotency key, the cart, the duplicate check, the order, its outbox events and then the
 * conditional stock decrements, all committed together or not at all. Nothing is reported before
 * the order is on disk (see FlushMode).
 */
export async function placeOrder(
  db: Queryable,
  principal: Principal,
  idempotencyKey: string,
  input: CheckoutInput,
  options: PlaceOrderOptions,
): Promise<PlaceOrderResult> {
  if (input.payment.method === "card" && !options.cardPayments) {
    throw new DomainError("PAYMENT_METHOD_UNAVAILABLE", { method: "card" });
  }
  const flush = options.flush ?? flushModeFor(db);
  inProgress.set(db, (inProgress.get(db) ?? 0) + 1);
  try {
    const { rows } = await db.query<{ result: PlaceOrderAnswer }>(
      flush === "in-call"
        ? "CALL place_order_durably($1, $2, $3, $4, $5, $6, make_interval(mins => $7), $8, $9)"
        : "SELECT place_order($1, $2, $3, $4, $5, $6, make_interval(mins => $7), $8, $9) AS result",
      [
        principal.userId,
        idempotencyKey,
        requestHash(input),
        input.cartId,
        JSON.stringify(input.shippingAddress),
        addressKey(input.shippingAddress),
        options.duplicateWindowMinutes,
        input.payment.method,
        input.expectedTotalCents ?? null,
      ],
    );
    const result = rows[0]?.result as PlaceOrderAnswer;
    const order = await answerOf(db, result.order);
    // Also after a replay: the first request may have committed a moment ago.
    if (flush === "shared" && !(await durableOrdersOf(db)([order.id])).has(order.id)) {
      // The server restarted between the commit and the flush and took the order with it (and
      // its key, stock decrements and events): nothing happened, so the client may retry.
      throw serviceUnavailable(
        "The database restarted before the order was saved; retry with the same Idempotency-Key",
      );
    }
    // Committed, and on disk, by the time the answer is here.
    collectCommittedEvents(result.events);
    return { replayed: result.replayed, order };
  } catch (err) {
    // Re-raise with the shared constructor so every INSUFFICIENT_STOCK reads the same.
    if (err instanceof DomainError && err.code === "INSUFFICIENT_STOCK") {
      throw insufficientStock(
        (err.details?.lines as { sku: string; requested: number; available: number }[]) ?? [],
      );
    }
    throw err;
  } finally {
    inProgress.set(db, (inProgress.get(db) ?? 1) - 1);
  }
}

/**
 * Idempotency keys answer retries, which come within minutes; after a day a key is only a row.
 * The relay's schedule calls this.
 */
export async function purgeIdempotencyKeys(
  db: Queryable,
  options: { olderThanHours?: number; limit?: number } = {},
): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM idempotency_keys WHERE (customer_id, key) IN (
       SELECT customer_id, key FROM idempotency_keys
        WHERE created_at < now() - make_interval(hours => $1)
        LIMIT $2)`,
    [options.olderThanHours ?? 24, options.limit ?? 10_000],
  );
  return rowCount ?? 0;
}
