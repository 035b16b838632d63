import * as Cart from "@flashstock/core/cart/index";
import { Sku } from "@flashstock/core/catalog/index";
import * as z from "zod";
import { created, route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

const CartPath = z.object({ id: Cart.CartId });
const CartItemPath = z.object({ id: Cart.CartId, sku: Sku });

export const create = route({ access: "optional" }).handler(async ({ principal }) =>
  created(await Cart.createCart(db(), principal)),
);

export const get = route({ access: "optional", path: CartPath }).handler(({ path, principal }) =>
  Cart.getCart(db(), path.id, principal),
);

export const setItem = route({
  access: "optional",
  path: CartItemPath,
  body: Cart.SetItemInput,
}).handler(({ path, body, principal }) => Cart.setItem(db(), path.id, path.sku, body, principal));

export const removeItem = route({ access: "optional", path: CartItemPath }).handler(
  ({ path, principal }) => Cart.removeItem(db(), path.id, path.sku, principal),
);
