import type { Principal, Role } from "../auth/index.ts";
import { isoInstant } from "../db/instant.ts";
import type { Db, Queryable } from "../db/types.ts";
import { DomainError, forbidden, notFound } from "../error.ts";
import { CreatedAtIdCursor, createdAtIdPage, decodeCursor, Limit, Page } from "../pagination.ts";
import { SafeName } from "../text.ts";
import * as z from "../zod.ts";

export const OrderStatus = z.enum([
  "awaiting_payment",
  "placed",
  "on_hold",
  "confirmed",
  "shipped",
  "delivered",
  "cancelled",
]);
export type OrderStatus = z.infer<typeof OrderStatus>;
export const OrderId = z.uuid({ message: "must be an order id (UUID)" });

export const OrderLine = z.object({
  sku: z.string(),
  name: z.string(),
  quantity: z.int(),
  unitPriceCents: z.int(),
});
export type OrderLine = z.infer<typeof OrderLine>;

/** A shipping address as an order keeps it (checkout's ShippingAddress, once validated). */
export const Address = z.object({
  name: z.string(),
  line1: z.string(),
  line2: z.optional(z.string()),
  city: z.string(),
  postalCode: z.string(),
  country: z.string(),
});
export type Address = z.infer<typeof Address>;

/**
 * Why an order was held, and, once released, by whom and when. It stays on the order after
 * release as its history.
 */
export const OrderHold = z.object({
  reason: z.literal("SUSPECTED_DUPLICATE"),
  duplicateOf: z.uuid(),
  releasedBy: z.optional(z.uuid()),
  releasedAt: z.optional(z.iso.datetime()),
});
export type OrderHold = z.infer<typeof OrderHold>;

export const PaymentMethod = z.enum(["store_credit", "cash_on_delivery", "card"]);
export type PaymentMethod = z.infer<typeof PaymentMethod>;

/** How the order is paid, and how much of it went back. */
export const Payment = z.object({
  method: PaymentMethod,
  status: z.enum(["pending", "paid", "refund_pending", "refunded", "cancelled"]),
  amountCents: z.int(),
  refundedCents: z.int(),
  /** The card payment's client secret: its owner's, while the payment is pending; else null. */
  clientSecret: z.nullable(z.string()),
});
export type Payment = z.infer<typeof Payment>;

/** Where the parcel is: set when ops ship the order, delivered when it arrives. */
export const Shipment = z.object({
  carrier: z.string(),
  trackingNumber: z.string(),
  trackingUrl: z.nullable(z.string()),
  shippedAt: z.iso.datetime(),
  deliveredAt: z.nullable(z.iso.datetime()),
});
export type Shipment = z.infer<typeof Shipment>;

export const HistoryStep = z.object({ status: OrderStatus, at: z.iso.datetime() });

/**
 * An order as the API answers it. SQL assembles it (order_json.sql) and parsing through this
 * schema gives every answer the same keys in the same order, whether it was read, returned by a
 * transition, or replayed from the idempotency key.
 */
export const Order = z.object({
  id: z.uuid(),
  status: OrderStatus,
  customerId: z.uuid(),
  lines: z.array(OrderLine),
  /** The lines' sum, before the discount. */
  subtotalCents: z.int(),
  /** What the promotion took off (promotion_discount.sql); 0 without one. */
  discountCents: z.int(),
  /** The code redeemed by this order; a cancellation gives the use back. */
  promotionCode: z.nullable(z.string()),
  /** What the customer pays: subtotalCents - discountCents. */
  totalCents: z.int(),
  currency: z.string(),
  shippingAddress: Address,
  hold: z.nullable(OrderHold),
  payment: Payment,
  shipment: z.nullable(Shipment),
  /** Every status the order has had, oldest first. */
  history: z.array(HistoryStep),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Order = z.infer<typeof Order>;

/** The card payment's client secret is its owner's alone: anyone else sees null. */
export const visibleTo = (order: Order, principal: Principal): Order =>
  order.customerId === principal.userId || order.payment.clientSecret === null
    ? order
    : { ...order, payment: { ...order.payment, clientSecret: null } };

export const OrderPage = Page(Order);

const ordersJson = "SELECT order_json(o, order_lines_json(o.id)) AS order FROM orders o";
type OrderRow = { order: unknown };
const fromRow = (row: OrderRow): Order => Order.parse(row.order);

/**
 * Who reads every order (with its shipping address): order operations and admins. A stock manager
 * reads none; the HTTP routes refuse them before this.
 */
const readsAllOrders = (principal: Principal) =>
  principal.role === "ops" || principal.role === "admin";

/** Customers see their own orders only; to them anyone else's order does not exist. */
function assertCanRead(order: Order | undefined, id: string, principal: Principal): Order {
  if (!order || (!readsAllOrders(principal) && order.customerId !== principal.userId)) {
    throw notFound("Order", { orderId: id });
  }
  return order;
}

/** An order by id, for the system's own consumers (no principal, no access check). */
export async function findOrder(db: Queryable, id: string): Promise<Order | undefined> {
  const { rows } = await db.query<OrderRow>(`${ordersJson} WHERE o.id = $1`, [id]);
  return rows[0] && fromRow(rows[0]);
}

export async function getOrder(db: Queryable, id: string, principal: Principal): Promise<Order> {
  return visibleTo(assertCanRead(await findOrder(db, id), id, principal), principal);
}

export const ListOrdersInput = z.object({
  limit: Limit,
  cursor: z.optional(z.string().check(z.maxLength(500))),
  status: z.optional(OrderStatus),
});
export type ListOrdersInput = z.infer<typeof ListOrdersInput>;

/** Newest first, keyset on (created_at, id) so pages never skip or repeat under new orders. */
export async function listOrders(
  db: Queryable,
  principal: Principal,
  input: ListOrdersInput,
): Promise<Page<Order>> {
  const after = input.cursor ? decodeCursor(input.cursor, CreatedAtIdCursor) : null;
  const { rows } = await db.query<OrderRow>(
    `${ordersJson}
      WHERE ($1::uuid IS NULL OR o.customer_id = $1)
        AND ($2::text IS NULL OR o.status = $2)
        AND ($3::timestamptz IS NULL OR (o.created_at, o.id) < ($3, $4::uuid))
      ORDER BY o.created_at DESC, o.id DESC
      LIMIT $5`,
    [
      readsAllOrders(principal) ? null : principal.userId,
      input.status ?? null,
      after?.[0] ?? null,
      after?.[1] ?? null,
      input.limit + 1,
    ],
  );
  return createdAtIdPage(
    rows.map((r) => visibleTo(fromRow(r), principal)),
    input.limit,
  );
}

/** The order, locked for a transition until the transaction ends. */
export async function lockOrder(tx: Queryable, id: string): Promise<Order | undefined> {
  const { rows } = await tx.query<OrderRow>(`${ordersJson} WHERE o.id = $1 FOR UPDATE OF o`, [id]);
  return rows[0] && fromRow(rows[0]);
}

const cancellingStaff: readonly Role[] = ["ops", "admin"];

const invalidState = (id: string, status: OrderStatus, action: string, allowed: OrderStatus[]) =>
  new DomainError(
    "INVALID_STATE",
    { orderId: id, status, allowed },
    { message: `An order that is ${status} cannot be ${action}` },
  );

/** SQL for an order's history with `status` appended, now (its `at` as the API prints instants). */
const historyWith = (status: string) =>
  `o.history || jsonb_build_array(jsonb_build_object('status', '${status}',
     'at', ${isoInstant("now()")}))`;

/**
 * One transition: the order (locked) must be in one of `from`; `set` are the columns it changes
 * besides its status, its history and updated_at (their values from $2 on); `event` is written to
 * the outbox: `data`, an SQL expression of the changed row `o`, with `extra` added to it.
 */
export async function transition(
  tx: Queryable,
  order: Order,
  change: {
    to: OrderStatus;
    from: readonly OrderStatus[];
    action: string;
    set?: string;
    values?: unknown[];
    event?: { type: string; data: string; extra?: Record<string, unknown> };
  },
): Promise<Order> {
  if (!change.from.includes(order.status)) {
    throw invalidState(order.id, order.status, change.action, [...change.from]);
  }
  const { rows } = await tx.query<OrderRow>(
    `UPDATE orders o SET status = '${change.to}', updated_at = now(), history = ${historyWith(change.to)}
            ${change.set ? `, ${change.set}` : ""}
      WHERE o.id = $1
     RETURNING order_json(o, order_lines_json(o.id)) AS order`,
    [order.id, ...(change.values ?? [])],
  );
  if (change.event) {
    await tx.query(
      `INSERT INTO outbox (type, data)
       SELECT $2, (${change.event.data}) || $3::jsonb FROM orders o WHERE o.id = $1`,
      [order.id, change.event.type, JSON.stringify(change.event.extra ?? {})],
    );
  }
  return fromRow(rows[0] as OrderRow);
}

/**
 * Order operations decide that a held order is genuine: it becomes `placed` and an
 * `order.released` event carries it to fulfilment (the order-events consumer confirms it). The
 * hold stays on the order with who released it and when.
 */
export async function releaseOrder(db: Db, id: string, principal: Principal): Promise<Order> {
  return db.transaction(async (tx) => {
    const order = assertCanRead(await lockOrder(tx, id), id, principal);
    const released = await transition(tx, order, {
      to: "placed",
      from: ["on_hold"],
      action: "released",
      set: `hold = o.hold || jsonb_build_object('releasedBy', $2::uuid,
              'releasedAt', ${isoInstant("now()")})`,
      values: [principal.userId],
      event: {
        type: "order.released",
        data: "order_event_data(o, order_lines_json(o.id))",
        extra: { releasedBy: principal.userId },
      },
    });
    return visibleTo(released, principal);
  });
}

/**
 * Fulfilment accepts a placed order (the order-events consumer calls this for order.placed and
 * order.released). Idempotent: an order that is already confirmed, or was cancelled or held in the
 * meantime, is left as it is and `null` comes back.
 */
export async function confirmOrder(db: Queryable, id: string): Promise<Order | null> {
  const { rowCount } = await db.query(
    `UPDATE orders o SET status = 'confirmed', updated_at = now(), history = ${historyWith("confirmed")}
      WHERE o.id = $1 AND o.status = 'placed'`,
    [id],
  );
  if (rowCount === 0) return null;
  await db.query(
    `INSERT INTO outbox (type, data)
     SELECT 'order.confirmed', jsonb_build_object('orderId', o.id, 'customerId', o.customer_id)
       FROM orders o WHERE o.id = $1`,
    [id],
  );
  return (await findOrder(db, id)) ?? null;
}

export const CancelOrderInput = z.strictObject({
  reason: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(500))),
});
export type CancelOrderInput = z.infer<typeof CancelOrderInput>;

const cancellable: readonly OrderStatus[] = ["awaiting_payment", "placed", "on_hold", "confirmed"];

/**
 * What a cancellation does to the payment. Store credit goes back to the wallet in the same
 * transaction (refunded); a paid card payment is refunded by the order-events consumer through the
 * provider (refund_pending until it confirms), an unpaid one is cancelled there; cash on delivery
 * was never taken.
 */
function paymentOnCancel(payment: Payment): Payment["status"] {
  // A discount made it free: nothing was taken, so nothing goes back.
  if (payment.amountCents === 0) return "cancelled";
  if (payment.method === "store_credit" && payment.status === "paid") return "refunded";
  if (payment.method === "card" && payment.status === "paid") return "refund_pending";
  return payment.status === "pending" ? "cancelled" : payment.status;
}

/**
 * Cancels an order: its units go back, each through apply_stock_delta with a `cancellation`
 * movement, in SKU order (the order checkout locks in); its money goes back as paymentOnCancel
 * says, and its promotion's use to the code; all in one transaction with the status change and the
 * `order.cancelled` event (and
 * `order.refunded` when the refund is done at once).
 */
export async function cancelOrder(
  db: Db,
  id: string,
  principal: Principal,
  input: CancelOrderInput = {},
): Promise<Order> {
  return db.transaction(async (tx) => {
    const order = assertCanRead(await lockOrder(tx, id), id, principal);
    if (order.customerId !== principal.userId && !cancellingStaff.includes(principal.role)) {
      throw forbidden();
    }
    const cancelled = await cancelLocked(tx, order, {
      actorId: principal.userId,
      reason: input.reason ?? null,
    });
    return visibleTo(cancelled, principal);
  });
}

/**
 * The cancellation itself, for an order locked by this transaction (lockOrder): by a person
 * (cancelOrder) or by the system (`actorId` null: an unpaid card order past its payment window, a
 * payment that does not match its order). `paymentStatus` overrides what paymentOnCancel says.
 */
export async function cancelLocked(
  tx: Queryable,
  order: Order,
  by: { actorId: string | null; reason: string | null; paymentStatus?: Payment["status"] },
): Promise<Order> {
  const paymentStatus = by.paymentStatus ?? paymentOnCancel(order.payment);
  const refundedNow = paymentStatus === "refunded" && order.payment.status === "paid";
  const cancelled = await transition(tx, order, {
    to: "cancelled",
    from: cancellable,
    action: "cancelled",
    set: `payment_status = $2, cancel_reason = $3,
          refunded_cents = CASE WHEN $4 THEN o.total_cents ELSE o.refunded_cents END`,
    values: [paymentStatus, by.reason, refundedNow],
    event: {
      type: "order.cancelled",
      data: `jsonb_build_object('orderId', o.id, 'customerId', o.customer_id,
               'lines', order_lines_json(o.id), 'reason', o.cancel_reason,
               'totalCents', o.total_cents, 'currency', o.currency,
               'paymentMethod', o.payment_method, 'paymentStatus', o.payment_status,
               'refundedCents', o.refunded_cents)`,
      extra: by.actorId ? { cancelledBy: by.actorId } : {},
    },
  });
  // The wallet before the stock rows, as checkout takes them (place_order debits the wallet, then
  // decrements): the other order would deadlock a customer's cancellation against their own
  // store-credit checkout of the same SKU.
  if (refundedNow) {
    await tx.query("SELECT apply_wallet_delta($1, $2, 'refund', $3, $4, NULL)", [
      order.customerId,
      order.totalCents,
      order.id,
      by.actorId,
    ]);
    await writeRefundedEvent(tx, order.id);
  }
  if (order.promotionCode) {
    // Its use goes back to the code (and to the customer), between the wallet and the stock rows as
    // checkout takes them.
    await tx.query("UPDATE promotions SET used = used - 1 WHERE code = $1", [order.promotionCode]);
  }
  for (const line of order.lines) {
    await tx.query("SELECT apply_stock_delta($1, $2, 'cancellation', $3, $4, NULL)", [
      line.sku,
      line.quantity,
      order.id,
      by.actorId,
    ]);
  }
  return cancelled;
}

/** `order.refunded`: the money of an order went back, `refundedCents` of it. */
export async function writeRefundedEvent(tx: Queryable, orderId: string): Promise<void> {
  await tx.query(
    `INSERT INTO outbox (type, data)
     SELECT 'order.refunded', jsonb_build_object('orderId', o.id, 'customerId', o.customer_id,
              'refundedCents', o.refunded_cents, 'currency', o.currency,
              'paymentMethod', o.payment_method)
       FROM orders o WHERE o.id = $1`,
    [orderId],
  );
}

export const ShipOrderInput = z.strictObject({
  carrier: SafeName(100),
  trackingNumber: z.string().check(z.trim(), z.minLength(1), z.maxLength(100)),
  trackingUrl: z.optional(z.url({ protocol: /^https?$/ }).check(z.maxLength(2048))),
});
export type ShipOrderInput = z.infer<typeof ShipOrderInput>;

/** Ops hand a confirmed order to a carrier; `order.shipped` tells the customer where to track it. */
export async function shipOrder(
  db: Db,
  id: string,
  principal: Principal,
  input: ShipOrderInput,
): Promise<Order> {
  return db.transaction(async (tx) => {
    const order = assertCanRead(await lockOrder(tx, id), id, principal);
    const shipped = await transition(tx, order, {
      to: "shipped",
      from: ["confirmed"],
      action: "shipped",
      set: "carrier = $2, tracking_number = $3, tracking_url = $4, shipped_at = now()",
      values: [input.carrier, input.trackingNumber, input.trackingUrl ?? null],
      event: {
        type: "order.shipped",
        data: `jsonb_build_object('orderId', o.id, 'customerId', o.customer_id,
                 'carrier', o.carrier, 'trackingNumber', o.tracking_number,
                 'trackingUrl', o.tracking_url)`,
      },
    });
    return visibleTo(shipped, principal);
  });
}

/** The parcel arrived: cash on delivery is paid now. */
export async function deliverOrder(db: Db, id: string, principal: Principal): Promise<Order> {
  return db.transaction(async (tx) => {
    const order = assertCanRead(await lockOrder(tx, id), id, principal);
    const delivered = await transition(tx, order, {
      to: "delivered",
      from: ["shipped"],
      action: "delivered",
      set: `delivered_at = now(),
            payment_status = CASE WHEN o.payment_method = 'cash_on_delivery' THEN 'paid'
                                  ELSE o.payment_status END`,
      event: {
        type: "order.delivered",
        data: `jsonb_build_object('orderId', o.id, 'customerId', o.customer_id,
                 'paymentMethod', o.payment_method, 'paymentStatus', o.payment_status)`,
      },
    });
    return visibleTo(delivered, principal);
  });
}
