import { Sku } from "@flashstock/core/catalog/index";
import * as Inventory from "@flashstock/core/inventory/index";
import * as z from "@flashstock/core/zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

const SkuPath = z.object({ sku: Sku });
const managers = ["stock_manager", "admin"] as const;

export const list = route({
  access: managers,
  summary: "Stock of every product, or only those below their minimum",
  query: Inventory.ListInventoryInput,
  returns: { status: 200, body: Inventory.InventoryList },
}).handler(({ query }) => Inventory.listInventory(db(), query));

export const adjust = route({
  access: managers,
  summary: "Restock, write off or correct a product's stock",
  path: SkuPath,
  body: Inventory.AdjustStockInput,
  returns: { status: 200, body: Inventory.StockLevel },
  errors: ["NOT_FOUND", "INSUFFICIENT_STOCK", "STOCK_LIMIT_EXCEEDED"],
}).handler(({ path, body, principal }) =>
  Inventory.adjustStock(db(), path.sku, body, principal.userId),
);

export const setMinimum = route({
  access: managers,
  summary: "Set the stock below which the stock manager is told",
  path: SkuPath,
  body: Inventory.SetMinimumInput,
  returns: { status: 200, body: Inventory.StockLevel },
  errors: ["NOT_FOUND"],
}).handler(({ path, body }) => Inventory.setMinimum(db(), path.sku, body));

export const movements = route({
  access: managers,
  summary: "A product's stock ledger, oldest first",
  path: SkuPath,
  query: Inventory.ListMovementsInput,
  returns: { status: 200, body: Inventory.MovementPage },
  errors: ["NOT_FOUND", "INVALID_CURSOR"],
}).handler(({ path, query }) => Inventory.listMovements(db(), path.sku, query));
