import * as Cart from "@flashstock/core/cart/index";
import { Sku } from "@flashstock/core/catalog/index";
import * as z from "@flashstock/core/zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

const CartPath = z.object({ id: Cart.CartId });
const CartItemPath = z.object({ id: Cart.CartId, sku: Sku });

export const create = route({
  access: "optional",
  summary: "Start a cart: the caller's with a token, anonymous without",
  returns: { status: 201, body: Cart.Cart },
}).handler(({ principal }) => Cart.createCart(db(), principal));

export const get = route({
  access: "optional",
  summary: "A cart with its lines at today's prices",
  path: CartPath,
  returns: { status: 200, body: Cart.Cart },
  errors: ["NOT_FOUND"],
}).handler(({ path, principal }) => Cart.getCart(db(), path.id, principal));

export const setItem = route({
  access: "optional",
  summary: "Set a line's quantity (0 removes it)",
  path: CartItemPath,
  body: Cart.SetItemInput,
  returns: { status: 200, body: Cart.Cart },
  errors: [
    "NOT_FOUND",
    "CART_CLOSED",
    "INSUFFICIENT_STOCK",
    "CURRENCY_MISMATCH",
    "CART_LINE_LIMIT",
    "PURCHASE_LIMIT",
    "NOT_YET_AVAILABLE",
  ],
}).handler(({ path, body, principal }) => Cart.setItem(db(), path.id, path.sku, body, principal));

export const removeItem = route({
  access: "optional",
  summary: "Remove a line",
  path: CartItemPath,
  returns: { status: 200, body: Cart.Cart },
  errors: ["NOT_FOUND", "CART_CLOSED"],
}).handler(({ path, principal }) => Cart.removeItem(db(), path.id, path.sku, principal));

export const applyPromotion = route({
  access: "optional",
  summary: "Put a coupon code on the cart (replacing any other); checkout redeems it",
  path: CartPath,
  body: Cart.ApplyPromotionInput,
  returns: { status: 200, body: Cart.Cart },
  errors: [
    "NOT_FOUND",
    "CART_CLOSED",
    "PROMOTION_INACTIVE",
    "PROMOTION_MIN_SUBTOTAL",
    "PROMOTION_EXHAUSTED",
    "PROMOTION_ALREADY_USED",
    "CURRENCY_MISMATCH",
  ],
}).handler(({ path, body, principal }) => Cart.applyPromotion(db(), path.id, body, principal));

export const removePromotion = route({
  access: "optional",
  summary: "Take the coupon code off the cart",
  path: CartPath,
  returns: { status: 200, body: Cart.Cart },
  errors: ["NOT_FOUND", "CART_CLOSED"],
}).handler(({ path, principal }) => Cart.removePromotion(db(), path.id, principal));
