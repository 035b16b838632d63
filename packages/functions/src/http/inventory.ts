import { Sku } from "@flashstock/core/catalog/index";
import * as Inventory from "@flashstock/core/inventory/index";
import * as z from "zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

const SkuPath = z.object({ sku: Sku });
const managers = ["stock_manager", "admin"] as const;

export const list = route({ access: managers, query: Inventory.ListInventoryInput }).handler(
  ({ query }) => Inventory.listInventory(db(), query),
);

export const adjust = route({
  access: managers,
  path: SkuPath,
  body: Inventory.AdjustStockInput,
}).handler(({ path, body, principal }) =>
  Inventory.adjustStock(db(), path.sku, body, principal.userId),
);

export const setMinimum = route({
  access: managers,
  path: SkuPath,
  body: Inventory.SetMinimumInput,
}).handler(({ path, body }) => Inventory.setMinimum(db(), path.sku, body));

export const movements = route({
  access: managers,
  path: SkuPath,
  query: Inventory.ListMovementsInput,
}).handler(({ path, query }) => Inventory.listMovements(db(), path.sku, query));
