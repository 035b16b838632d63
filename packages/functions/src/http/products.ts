import * as Catalog from "@flashstock/core/catalog/index";
import * as z from "zod";
import { created, route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

const SkuPath = z.object({ sku: Catalog.Sku });
const managers = ["stock_manager", "admin"] as const;

export const list = route({ access: "public", query: Catalog.ListProductsInput }).handler(
  ({ query }) => Catalog.listProducts(db(), query),
);

export const get = route({ access: "public", path: SkuPath }).handler(({ path }) =>
  Catalog.getProduct(db(), path.sku),
);

export const create = route({ access: managers, body: Catalog.CreateProductInput }).handler(
  async ({ body, principal }) => created(await Catalog.createProduct(db(), body, principal.userId)),
);

export const update = route({
  access: managers,
  path: SkuPath,
  body: Catalog.UpdateProductInput,
}).handler(({ path, body }) => Catalog.updateProduct(db(), path.sku, body));
