import { isStaff, type Principal, type Role } from "../auth/index.ts";
import type { Db, Queryable } from "../db/types.ts";
import { DomainError, forbidden, notFound } from "../error.ts";
import { decodeCursor, encodeCursor, Limit, Page } from "../pagination.ts";
import * as z from "../zod.ts";

export const OrderStatus = z.enum(["placed", "on_hold", "confirmed", "cancelled"]);
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
  totalCents: z.int(),
  currency: z.string(),
  shippingAddress: Address,
  hold: z.nullable(OrderHold),
  createdAt: z.iso.datetime(),
});
export type Order = z.infer<typeof Order>;

export const OrderPage = Page(Order);

const ordersJson = "SELECT order_json(o) AS order FROM orders o";
type OrderRow = { order: unknown };
const fromRow = (row: OrderRow): Order => Order.parse(row.order);

/** Customers see their own orders only; to them anyone else's order does not exist. */
function assertCanRead(order: Order | undefined, id: string, principal: Principal): Order {
  if (!order || (!isStaff(principal) && order.customerId !== principal.userId)) {
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
  return assertCanRead(await findOrder(db, id), id, principal);
}

export const ListOrdersInput = z.object({
  limit: Limit,
  cursor: z.optional(z.string().check(z.maxLength(500))),
  status: z.optional(OrderStatus),
});
export type ListOrdersInput = z.infer<typeof ListOrdersInput>;

/** The key of the last order served. Postgres has no year 0, so no cursor of ours holds one. */
const OrderCursor = z.tuple([
  z.iso.datetime().check(z.refine((at) => !at.startsWith("0000-"), "not a Postgres timestamp")),
  z.uuid(),
]);

/** Newest first, keyset on (created_at, id) so pages never skip or repeat under new orders. */
export async function listOrders(
  db: Queryable,
  principal: Principal,
  input: ListOrdersInput,
): Promise<Page<Order>> {
  const after = input.cursor ? decodeCursor(input.cursor, OrderCursor) : null;
  const { rows } = await db.query<OrderRow>(
    `${ordersJson}
      WHERE ($1::uuid IS NULL OR o.customer_id = $1)
        AND ($2::text IS NULL OR o.status = $2)
        AND ($3::timestamptz IS NULL OR (o.created_at, o.id) < ($3, $4::uuid))
      ORDER BY o.created_at DESC, o.id DESC
      LIMIT $5`,
    [
      isStaff(principal) ? null : principal.userId,
      input.status ?? null,
      after?.[0] ?? null,
      after?.[1] ?? null,
      input.limit + 1,
    ],
  );
  const items = rows.slice(0, input.limit).map(fromRow);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.createdAt, last.id]) : null,
  };
}

/** The order, locked for a transition until the transaction ends. */
async function lockOrder(tx: Queryable, id: string): Promise<Order | undefined> {
  const { rows } = await tx.query<OrderRow>(`${ordersJson} WHERE o.id = $1 FOR UPDATE OF o`, [id]);
  return rows[0] && fromRow(rows[0]);
}

const cancellable: readonly OrderStatus[] = ["placed", "on_hold"];
const cancellingStaff: readonly Role[] = ["ops", "admin"];

const invalidState = (id: string, status: OrderStatus, action: string, allowed: OrderStatus[]) =>
  new DomainError(
    "INVALID_STATE",
    { orderId: id, status, allowed },
    { message: `An order that is ${status} cannot be ${action}` },
  );

/**
 * Order operations decide that a held order is genuine: it becomes `placed` and an
 * `order.released` event carries it to fulfilment (the order-events consumer confirms it). The
 * hold stays on the order with who released it and when.
 */
export async function releaseOrder(db: Db, id: string, principal: Principal): Promise<Order> {
  return db.transaction(async (tx) => {
    const order = assertCanRead(await lockOrder(tx, id), id, principal);
    if (order.status !== "on_hold") throw invalidState(id, order.status, "released", ["on_hold"]);
    const { rows } = await tx.query<OrderRow>(
      `UPDATE orders o SET status = 'placed', updated_at = now(),
              hold = o.hold || jsonb_build_object('releasedBy', $2::uuid,
                'releasedAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
        WHERE o.id = $1
       RETURNING order_json(o) AS order`,
      [id, principal.userId],
    );
    await tx.query(
      `INSERT INTO outbox (type, data)
       SELECT 'order.released', order_event_data(o) || jsonb_build_object('releasedBy', $2::uuid)
         FROM orders o WHERE o.id = $1`,
      [id, principal.userId],
    );
    return fromRow(rows[0] as OrderRow);
  });
}

/**
 * Fulfilment accepts a placed order (the order-events consumer calls this for order.placed and
 * order.released). Idempotent: an order that is already confirmed, or was cancelled or held in the
 * meantime, is left as it is and `null` comes back.
 */
export async function confirmOrder(db: Queryable, id: string): Promise<Order | null> {
  const { rowCount } = await db.query(
    "UPDATE orders SET status = 'confirmed', updated_at = now() WHERE id = $1 AND status = 'placed'",
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

/**
 * Cancels an order and puts its units back, each through apply_stock_delta with a `cancellation`
 * movement, in SKU order (the order checkout locks in) and in one transaction with the status change.
 */
export async function cancelOrder(db: Db, id: string, principal: Principal): Promise<Order> {
  return db.transaction(async (tx) => {
    const order = assertCanRead(await lockOrder(tx, id), id, principal);
    if (order.customerId !== principal.userId && !cancellingStaff.includes(principal.role)) {
      throw forbidden();
    }
    if (!cancellable.includes(order.status)) {
      throw invalidState(id, order.status, "cancelled", [...cancellable]);
    }
    const { rows } = await tx.query<OrderRow>(
      `UPDATE orders o SET status = 'cancelled', updated_at = now() WHERE o.id = $1
       RETURNING order_json(o) AS order`,
      [id],
    );
    for (const line of order.lines) {
      await tx.query("SELECT apply_stock_delta($1, $2, 'cancellation', $3, $4, NULL)", [
        line.sku,
        line.quantity,
        id,
        principal.userId,
      ]);
    }
    await tx.query(
      `INSERT INTO outbox (type, data) VALUES ('order.cancelled', jsonb_build_object(
         'orderId', $1::uuid, 'customerId', $2::uuid, 'cancelledBy', $3::uuid, 'lines', $4::jsonb))`,
      [id, order.customerId, principal.userId, JSON.stringify(order.lines)],
    );
    return fromRow(rows[0] as OrderRow);
  });
}
