import { isStaff, type Principal } from "@flashstock/core/auth/index";
import * as Catalog from "@flashstock/core/catalog/index";
import * as z from "@flashstock/core/zod";
import { route } from "../lib/http.ts";
import { db } from "../lib/resources.ts";

const SkuPath = z.object({ sku: Catalog.Sku });
const managers = ["stock_manager", "admin"] as const;
const readerOf = (principal: Principal | undefined) => ({
  staff: principal !== undefined && isStaff(principal),
});

// A token is read when sent: staff see each product's low-stock line (minQuantity) too.
export const list = route({
  access: "optional",
  summary: "Browse the catalog: by category, by search, a page at a time",
  query: Catalog.ListProductsInput,
  returns: { status: 200, body: Catalog.ProductPage },
  errors: ["INVALID_CURSOR"],
}).handler(({ query, principal }) => Catalog.listProducts(db(), query, readerOf(principal)));

export const get = route({
  access: "optional",
  summary: "One product, with the units available now",
  path: SkuPath,
  returns: { status: 200, body: Catalog.Product },
  errors: ["NOT_FOUND"],
}).handler(({ path, principal }) => Catalog.getProduct(db(), path.sku, readerOf(principal)));

export const create = route({
  access: managers,
  summary: "Add a product with its opening stock",
  body: Catalog.CreateProductInput,
  returns: { status: 201, body: Catalog.Product },
  errors: ["SKU_EXISTS"],
}).handler(({ body, principal }) => Catalog.createProduct(db(), body, principal.userId));

export const update = route({
  access: managers,
  summary: "Change a product's details or price",
  path: SkuPath,
  body: Catalog.UpdateProductInput,
  returns: { status: 200, body: Catalog.Product },
  errors: ["NOT_FOUND"],
}).handler(({ path, body }) => Catalog.updateProduct(db(), path.sku, body));
