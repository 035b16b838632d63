import type { Principal } from "../auth/index.ts";
import { DEFAULT_CURRENCY } from "../catalog/index.ts";
import { isoInstant } from "../db/instant.ts";
import type { Db, Queryable } from "../db/types.ts";
import { DomainError, type ErrorCode, insufficientStockForSku, notFound } from "../error.ts";
import { PromotionCode } from "../promotion/index.ts";
import * as z from "../zod.ts";

/** Per line. Large enough for any retail basket, small enough that totals stay exact in a double. */
export const MAX_LINE_QUANTITY = 10_000;
export const MAX_CART_LINES = 100;

export const CartId = z.uuid({ message: "must be a cart id (UUID)" });
export const SetItemInput = z.strictObject({
  quantity: z.int().check(z.minimum(0), z.maximum(MAX_LINE_QUANTITY)),
});
export type SetItemInput = z.infer<typeof SetItemInput>;

export const CartItem = z.object({
  sku: z.string(),
  name: z.string(),
  quantity: z.int(),
  /** The product's price now: a cart reserves neither stock nor price. */
  unitPriceCents: z.int(),
  lineTotalCents: z.int(),
});
export type CartItem = z.infer<typeof CartItem>;

export const CartPromotion = z.object({
  code: z.string(),
  /**
   * What the code takes off this cart now (promotion_discount.sql): 0 while it would be refused at
   * checkout for its window, currency or minimum subtotal.
   */
  discountCents: z.int(),
});

export const Cart = z.object({
  id: z.uuid(),
  status: z.enum(["open", "checked_out"]),
  items: z.array(CartItem),
  subtotalCents: z.int(),
  promotion: z.nullable(CartPromotion),
  discountCents: z.int(),
  /** subtotalCents - discountCents, never below 0: what checkout charges if nothing changes. */
  totalCents: z.int(),
  currency: z.string(),
});
export type Cart = z.infer<typeof Cart>;

export const ApplyPromotionInput = z.strictObject({ code: PromotionCode });
export type ApplyPromotionInput = z.infer<typeof ApplyPromotionInput>;

interface CartRow {
  id: string;
  customer_id: string | null;
  status: Cart["status"];
  promotion_code: string | null;
}

/**
 * A cart made with a customer token belongs to that customer and to no one else: to anyone else it
 * does not exist (404, not 403, so that ids cannot be probed). An anonymous cart is reachable by
 * whoever holds its unguessable id, and becomes the customer's at checkout.
 */
function assertAccess(cart: CartRow | undefined, id: string, principal?: Principal): CartRow {
  if (!cart || (cart.customer_id !== null && cart.customer_id !== principal?.userId)) {
    throw notFound("Cart", { cartId: id });
  }
  return cart;
}

const cartClosed = (id: string) => new DomainError("CART_CLOSED", { cartId: id });

export async function createCart(db: Queryable, principal?: Principal): Promise<Cart> {
  const { rows } = await db.query<CartRow>(
    `INSERT INTO carts (customer_id) VALUES ($1) RETURNING ${cartColumns}`,
    [principal?.userId ?? null],
  );
  const cart = rows[0] as CartRow;
  return {
    id: cart.id,
    status: cart.status,
    items: [],
    subtotalCents: 0,
    promotion: null,
    discountCents: 0,
    totalCents: 0,
    currency: DEFAULT_CURRENCY,
  };
}

const cartColumns = "id, customer_id, status, promotion_code";

export async function getCart(db: Queryable, id: string, principal?: Principal): Promise<Cart> {
  const { rows } = await db.query<CartRow>(`SELECT ${cartColumns} FROM carts WHERE id = $1`, [id]);
  return readCart(db, assertAccess(rows[0], id, principal));
}

async function readCart(db: Queryable, cart: CartRow): Promise<Cart> {
  const { rows } = await db.query<CartItem & { currency: string }>(
    `SELECT i.sku, p.name, i.quantity, p.price_cents AS "unitPriceCents",
            p.price_cents * i.quantity AS "lineTotalCents", p.currency
       FROM cart_items i JOIN products p USING (sku)
      WHERE i.cart_id = $1
      ORDER BY i.added_at, i.sku`,
    [cart.id],
  );
  const subtotalCents = rows.reduce((sum, r) => sum + r.lineTotalCents, 0);
  const currency = rows[0]?.currency ?? DEFAULT_CURRENCY;
  const promotion = cart.promotion_code
    ? await promotionOnCart(db, cart.promotion_code, subtotalCents, rows[0]?.currency ?? null)
    : null;
  const discountCents = promotion?.discountCents ?? 0;
  return {
    id: cart.id,
    status: cart.status,
    items: rows.map(({ currency: _c, ...item }) => item),
    subtotalCents,
    promotion,
    discountCents,
    totalCents: subtotalCents - discountCents,
    currency,
  };
}

/** The cart's code and what it takes off now, by the rule checkout applies (SQL, in one place). */
async function promotionOnCart(
  db: Queryable,
  code: string,
  subtotalCents: number,
  currency: string | null,
): Promise<z.infer<typeof CartPromotion>> {
  const { rows } = await db.query<{ discountCents: number }>(
    `SELECT CASE WHEN promotion_refusal(p, $2, $3, NULL, false) IS NULL
                 THEN promotion_discount(p.kind, p.value, $2) ELSE 0 END::int AS "discountCents"
       FROM promotions p WHERE p.code = $1`,
    [code, subtotalCents, currency],
  );
  return { code, discountCents: rows[0]?.discountCents ?? 0 };
}

/**
 * Puts a code on a cart, refused (nothing changed) as checkout would refuse it now: unknown 404
 * NOT_FOUND, then promotion_refusal's 409s (inactive, currency, minimum, used up, the customer's
 * uses taken). A cart holds one code; applying another replaces it. Checkout redeems it atomically.
 */
export async function applyPromotion(
  db: Db,
  id: string,
  input: ApplyPromotionInput,
  principal?: Principal,
): Promise<Cart> {
  return db.transaction(async (tx) => {
    const cart = await lockOpenCart(tx, id, principal);
    const current = await readCart(tx, cart);
    const { rows } = await tx.query<{
      refusal: { code: ErrorCode; details: Record<string, unknown> } | null;
    }>(
      `SELECT promotion_refusal(p, $2, $3, $4, true) AS refusal FROM promotions p WHERE code = $1`,
      [
        input.code,
        current.subtotalCents,
        current.items.length > 0 ? current.currency : null,
        buyerOf(cart, principal),
      ],
    );
    if (!rows[0]) throw notFound("Promotion", { code: input.code });
    const refusal = rows[0].refusal;
    if (refusal) throw new DomainError(refusal.code, refusal.details);
    await tx.query("UPDATE carts SET promotion_code = $2, updated_at = now() WHERE id = $1", [
      id,
      input.code,
    ]);
    return readCart(tx, { ...cart, promotion_code: input.code });
  });
}

/** Takes the code off a cart (200 whether or not it had one). */
export async function removePromotion(db: Db, id: string, principal?: Principal): Promise<Cart> {
  return db.transaction(async (tx) => {
    const cart = await lockOpenCart(tx, id, principal);
    await tx.query("UPDATE carts SET promotion_code = NULL, updated_at = now() WHERE id = $1", [
      id,
    ]);
    return readCart(tx, { ...cart, promotion_code: null });
  });
}

/** The cart, locked against a concurrent checkout, if the caller may change it and it is open. */
async function lockOpenCart(tx: Queryable, id: string, principal?: Principal): Promise<CartRow> {
  const { rows } = await tx.query<CartRow>(
    `SELECT ${cartColumns} FROM carts WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const cart = assertAccess(rows[0], id, principal);
  if (cart.status !== "open") throw cartClosed(id);
  return cart;
}

/**
 * Sets a line's quantity (0 removes it). The cart only validates against current stock; it reserves
 * nothing, and checkout checks again. The cart row is locked so that a concurrent checkout either
 * sees this change or makes it fail with CART_CLOSED.
 */
export async function setItem(
  db: Db,
  id: string,
  sku: string,
  input: SetItemInput,
  principal?: Principal,
): Promise<Cart> {
  return db.transaction(async (tx) => {
    const cart = await lockOpenCart(tx, id, principal);

    const product = await tx.query<ProductRules>(
      `SELECT s.available, p.currency, p.max_per_customer AS "maxPerCustomer",
              ${isoInstant("p.available_from")} AS "availableFrom",
              coalesce(p.available_from > now(), false) AS "notYet"
         FROM products p JOIN stock s USING (sku) WHERE p.sku = $1`,
      [sku],
    );
    const stock = product.rows[0];
    if (!stock) throw notFound("Product", { sku });

    if (input.quantity === 0) {
      await tx.query("DELETE FROM cart_items WHERE cart_id = $1 AND sku = $2", [id, sku]);
    } else {
      await checkPurchaseRules(tx, sku, stock, input.quantity, buyerOf(cart, principal));
      if (input.quantity > stock.available) {
        throw insufficientStockForSku(sku, input.quantity, stock.available);
      }
      const others = await tx.query<{ lines: number; currencies: string[] }>(
        `SELECT count(*)::int AS lines, coalesce(array_agg(DISTINCT p.currency), '{}') AS currencies
           FROM cart_items i JOIN products p USING (sku) WHERE i.cart_id = $1 AND i.sku <> $2`,
        [id, sku],
      );
      const { lines, currencies } = others.rows[0] as { lines: number; currencies: string[] };
      if (currencies.some((c) => c !== stock.currency)) {
        throw new DomainError("CURRENCY_MISMATCH", {
          sku,
          currency: stock.currency,
          cartCurrency: currencies[0],
        });
      }
      if (lines >= MAX_CART_LINES) {
        throw new DomainError("CART_LINE_LIMIT", { max: MAX_CART_LINES });
      }
      await tx.query(
        // The line is priced in the product's currency as the customer sees it now.
        `INSERT INTO cart_items (cart_id, sku, quantity, currency) VALUES ($1, $2, $3, $4)
         ON CONFLICT (cart_id, sku)
         DO UPDATE SET quantity = EXCLUDED.quantity, currency = EXCLUDED.currency`,
        [id, sku, input.quantity, stock.currency],
      );
    }
    await tx.query("UPDATE carts SET updated_at = now() WHERE id = $1", [id]);
    return readCart(tx, cart);
  });
}

interface ProductRules {
  available: number;
  currency: string;
  maxPerCustomer: number | null;
  availableFrom: string | null;
  notYet: boolean;
}

/** Whose limit a cart line counts against: the cart's owner, or the customer filling it. */
const buyerOf = (cart: CartRow, principal?: Principal) =>
  cart.customer_id ?? (principal?.role === "customer" ? principal.userId : null);

/** Units of a SKU in a customer's orders that are not cancelled: what a limit counts (units_held.sql). */
export async function unitsHeld(db: Queryable, customerId: string, sku: string): Promise<number> {
  const { rows } = await db.query<{ units: number }>("SELECT units_held($1, $2) AS units", [
    customerId,
    sku,
  ]);
  return rows[0]?.units ?? 0;
}

/**
 * The flash-sale rules, told early: a product whose sale has not started, and more units than the
 * customer may hold. Checkout checks both again, atomically (place_order): this only spares the
 * customer a cart that could not be bought.
 */
async function checkPurchaseRules(
  tx: Queryable,
  sku: string,
  product: ProductRules,
  quantity: number,
  buyer: string | null,
): Promise<void> {
  if (product.notYet) {
    throw new DomainError("NOT_YET_AVAILABLE", { sku, availableFrom: product.availableFrom });
  }
  if (product.maxPerCustomer === null) return;
  const alreadyBought = buyer ? await unitsHeld(tx, buyer, sku) : 0;
  if (alreadyBought + quantity > product.maxPerCustomer) {
    throw new DomainError("PURCHASE_LIMIT", {
      sku,
      limit: product.maxPerCustomer,
      alreadyBought,
      requested: quantity,
    });
  }
}

export const removeItem = (db: Db, id: string, sku: string, principal?: Principal) =>
  setItem(db, id, sku, { quantity: 0 }, principal);
