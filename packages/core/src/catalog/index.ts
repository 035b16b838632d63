import { type Db, isSqlState, type Queryable } from "../db/index.ts";
import { isoInstant } from "../db/instant.ts";
import { DomainError, notFound } from "../error.ts";
import { decodeCursor, encodeCursor, Limit, Page } from "../pagination.ts";
import { SafeName } from "../text.ts";
import * as z from "../zod.ts";

export const Sku = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "1-64 letters, digits, '.', '_' or '-'"));
export const Currency = z.string().check(z.regex(/^[A-Z]{3}$/, "an ISO 4217 code such as EUR"));
/** Stock quantities fit comfortably in Postgres integer, with room for any single adjustment. */
export const MAX_STOCK = 1_000_000_000;
const StockQuantity = z.int().check(z.minimum(0), z.maximum(MAX_STOCK));
const Text = (max: number, min = 0) =>
  z.string().check(z.trim(), z.maxLength(max), ...(min > 0 ? [z.minLength(min)] : []));
/**
 * Free-form attributes. Zod's record skips a `__proto__` key without a word (so that it cannot set
 * the parsed object's prototype), which would store a product without the attribute its creator
 * sent and answer 201: the key is refused instead, before the record is parsed.
 */
const Attributes = z.pipe(
  z.transform((value: unknown, ctx) => {
    if (value !== null && typeof value === "object" && Object.hasOwn(value, "__proto__")) {
      ctx.issues.push({
        code: "custom",
        message: "'__proto__' cannot be an attribute name",
        path: ["__proto__"],
        input: value,
      });
    }
    return value;
  }),
  z
    .record(
      z.string().check(z.minLength(1), z.maxLength(64)),
      z.union([z.string().check(z.maxLength(500)), z.number(), z.boolean()]),
    )
    .check(z.refine((a) => Object.keys(a).length <= 50, "at most 50 attributes")),
);

export const DEFAULT_CURRENCY = "EUR";

/** A flash sale's limit of units per customer; null: no limit. */
const MaxPerCustomer = z.nullable(z.int().check(z.minimum(1), z.maximum(MAX_STOCK)));
/** Before this instant the product is listed but cannot be put in a cart or bought; null: now. */
const AvailableFrom = z.nullable(z.iso.datetime({ offset: true }));

const productFields = {
  name: SafeName(200),
  description: Text(5000),
  priceCents: z.int().check(z.minimum(0), z.maximum(1_000_000_000)),
  currency: Currency,
  category: z.nullable(Text(100, 1)),
  imageUrls: z
    .array(z.url({ protocol: /^https?$/ }).check(z.maxLength(2048)))
    .check(z.maxLength(20)),
  attributes: Attributes,
  maxPerCustomer: MaxPerCustomer,
  availableFrom: AvailableFrom,
};

export const CreateProductInput = z.strictObject({
  sku: Sku,
  ...productFields,
  description: z._default(productFields.description, ""),
  currency: z._default(productFields.currency, DEFAULT_CURRENCY),
  category: z._default(z.optional(productFields.category), null),
  imageUrls: z._default(productFields.imageUrls, []),
  attributes: z._default(productFields.attributes, {}),
  maxPerCustomer: z._default(z.optional(MaxPerCustomer), null),
  availableFrom: z._default(z.optional(AvailableFrom), null),
  available: StockQuantity,
  minQuantity: StockQuantity,
});
export type CreateProductInput = z.infer<typeof CreateProductInput>;

export const UpdateProductInput = z
  .partial(z.strictObject(productFields))
  .check(z.refine((u) => Object.keys(u).length > 0, "at least one field to change"));
export type UpdateProductInput = z.infer<typeof UpdateProductInput>;

export const ListProductsInput = z.object({
  limit: Limit,
  cursor: z.optional(z.string().check(z.maxLength(500))),
  category: z.optional(Text(100, 1)),
  q: z.optional(Text(200, 1)),
});
export type ListProductsInput = z.infer<typeof ListProductsInput>;

export const Product = z.object({
  sku: z.string(),
  name: z.string(),
  description: z.string(),
  priceCents: z.int(),
  currency: z.string(),
  category: z.nullable(z.string()),
  imageUrls: z.array(z.string()),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  /** Units that can be sold now. */
  available: z.int(),
  /** Units one customer may hold across orders that are not cancelled; null: no limit. */
  maxPerCustomer: z.nullable(z.int()),
  /** Before this instant it cannot be put in a cart or bought; null: it can now. */
  availableFrom: z.nullable(z.iso.datetime()),
  /** The low-stock line: shown to staff only. */
  minQuantity: z.optional(z.int()),
  /** Its reviews at a glance (review/index.ts); `average` is null until the first one. */
  rating: z.object({ average: z.nullable(z.number()), count: z.int() }),
});
export type Product = z.infer<typeof Product>;

export const ProductPage = Page(Product);

const productColumns = `p.sku, p.name, p.description, p.price_cents, p.currency, p.category,
  p.image_urls, p.attributes, s.available, p.max_per_customer, s.min_quantity,
  ${isoInstant("p.available_from")} AS available_from,
  (SELECT json_build_object('average', round(avg(r.rating), 2)::float8, 'count', count(*)::int)
     FROM reviews r WHERE r.sku = p.sku) AS rating`;

interface ProductRow {
  sku: string;
  name: string;
  description: string;
  price_cents: number;
  currency: string;
  category: string | null;
  image_urls: string[];
  attributes: Record<string, string | number | boolean>;
  available: number;
  max_per_customer: number | null;
  available_from: string | null;
  min_quantity: number;
  rating: Product["rating"];
}

/** Who reads: staff also see the product's low-stock line. */
export interface ProductReader {
  staff: boolean;
}

const toProduct = (r: ProductRow, reader: ProductReader): Product => ({
  sku: r.sku,
  name: r.name,
  description: r.description,
  priceCents: r.price_cents,
  currency: r.currency,
  category: r.category,
  imageUrls: r.image_urls,
  attributes: r.attributes,
  available: r.available,
  maxPerCustomer: r.max_per_customer,
  availableFrom: r.available_from,
  ...(reader.staff ? { minQuantity: r.min_quantity } : {}),
  rating: r.rating,
});

/** Escapes LIKE wildcards so that a search for "50%" finds "50%", not everything. */
const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Keyset pagination on the SKU (the primary key): a page starts strictly after the last SKU served,
 * so no item present for the whole walk is ever skipped or repeated, whatever is inserted meanwhile.
 */
export async function listProducts(
  db: Queryable,
  input: ListProductsInput,
  reader: ProductReader = { staff: false },
): Promise<Page<Product>> {
  // The key is a SKU: anything else (a NUL, which Postgres cannot take, included) is not our cursor.
  const after = input.cursor ? decodeCursor(input.cursor, z.tuple([Sku]))[0] : null;
  const { rows } = await db.query<ProductRow>(
    `SELECT ${productColumns} FROM products p JOIN stock s USING (sku)
      WHERE ($1::text IS NULL OR p.sku > $1)
        AND ($2::text IS NULL OR p.category = $2)
        AND ($3::text IS NULL OR p.name ILIKE $3 OR p.description ILIKE $3 OR p.sku ILIKE $3)
      ORDER BY p.sku
      LIMIT $4`,
    [after, input.category ?? null, input.q ? likePattern(input.q) : null, input.limit + 1],
  );
  const items = rows.slice(0, input.limit).map((r) => toProduct(r, reader));
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.sku]) : null,
  };
}

export async function getProduct(
  db: Queryable,
  sku: string,
  reader: ProductReader = { staff: false },
): Promise<Product> {
  const { rows } = await db.query<ProductRow>(
    `SELECT ${productColumns} FROM products p JOIN stock s USING (sku) WHERE p.sku = $1`,
    [sku],
  );
  if (!rows[0]) throw notFound("Product", { sku });
  return toProduct(rows[0], reader);
}

export async function createProduct(
  db: Db,
  input: CreateProductInput,
  actorId: string,
): Promise<Product> {
  try {
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO products (sku, name, description, price_cents, currency, category, image_urls,
                               attributes, max_per_customer, available_from)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          input.sku,
          input.name,
          input.description,
          input.priceCents,
          input.currency,
          input.category,
          JSON.stringify(input.imageUrls),
          JSON.stringify(input.attributes),
          input.maxPerCustomer,
          input.availableFrom,
        ],
      );
      await tx.query("INSERT INTO stock (sku, available, min_quantity) VALUES ($1, $2, $3)", [
        input.sku,
        input.available,
        input.minQuantity,
      ]);
      // The opening balance is a movement too, so that sum(delta) = available holds from day one.
      if (input.available > 0) {
        await tx.query(
          `INSERT INTO stock_movements (sku, delta, reason, available_after, actor_id)
           VALUES ($1, $2, 'initial', $2, $3)`,
          [input.sku, input.available, actorId],
        );
      }
    });
  } catch (err) {
    if (isSqlState(err, "23505")) {
      throw new DomainError("SKU_EXISTS", { sku: input.sku });
    }
    throw err;
  }
  return getProduct(db, input.sku, { staff: true });
}

const columnByField: Record<keyof UpdateProductInput, string> = {
  name: "name",
  description: "description",
  priceCents: "price_cents",
  currency: "currency",
  category: "category",
  imageUrls: "image_urls",
  attributes: "attributes",
  maxPerCustomer: "max_per_customer",
  availableFrom: "available_from",
};

export async function updateProduct(
  db: Queryable,
  sku: string,
  input: UpdateProductInput,
): Promise<Product> {
  const fields = Object.keys(input) as (keyof UpdateProductInput)[];
  const values = fields.map((f) => {
    const v = input[f];
    return f === "imageUrls" || f === "attributes" ? JSON.stringify(v) : v;
  });
  const sets = fields.map((f, i) => `${columnByField[f]} = $${i + 2}`);
  const { rowCount } = await db.query(
    `UPDATE products SET ${sets.join(", ")}, updated_at = now() WHERE sku = $1`,
    [sku, ...values],
  );
  if (!rowCount) throw notFound("Product", { sku });
  return getProduct(db, sku, { staff: true });
}
