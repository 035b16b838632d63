/**
 * Product reviews: a customer who received a product (a delivered order holding its SKU) may rate
 * it 1-5 once, with an optional title and text. Products carry the average and count
 * (`rating`, read in catalog/index.ts).
 */
import { randomUUID } from "node:crypto";
import type { Principal } from "../auth/index.ts";
import type { Queryable } from "../db/index.ts";
import { isoInstant } from "../db/instant.ts";
import { DomainError, notFound } from "../error.ts";
import { CreatedAtIdCursor, createdAtIdPage, decodeCursor, Limit, Page } from "../pagination.ts";
import { SafeName, SafeText } from "../text.ts";
import * as z from "../zod.ts";

export const ReviewInput = z.strictObject({
  rating: z.int().check(z.minimum(1), z.maximum(5)),
  title: z.optional(SafeName(120)),
  body: z.optional(SafeText(4000)),
});
export type ReviewInput = z.infer<typeof ReviewInput>;

export const Review = z.object({
  id: z.uuid(),
  sku: z.string(),
  rating: z.int(),
  title: z.nullable(z.string()),
  body: z.nullable(z.string()),
  /** The reviewer as shown to everyone: a first name and an initial, never an email. */
  author: z.string(),
  createdAt: z.iso.datetime(),
});
export type Review = z.infer<typeof Review>;

export const ReviewPage = Page(Review);

export const ListReviewsInput = z.object({
  limit: Limit,
  cursor: z.optional(z.string().check(z.maxLength(500))),
});
export type ListReviewsInput = z.infer<typeof ListReviewsInput>;

/** "Ada Lovelace" is shown as "Ada L.": a review is public, its author's full name need not be. */
export function authorName(name: string): string {
  const words = name.trim().split(/\s+/u);
  const last = words.length > 1 ? words.at(-1) : undefined;
  return last ? `${words[0]} ${[...last][0]}.` : (words[0] ?? "");
}

interface ReviewRow {
  id: string;
  sku: string;
  rating: number;
  title: string | null;
  body: string | null;
  name: string;
  created_at: string;
}

const toReview = (r: ReviewRow): Review => ({
  id: r.id,
  sku: r.sku,
  rating: r.rating,
  title: r.title,
  body: r.body,
  author: authorName(r.name),
  createdAt: r.created_at,
});

const reviewColumns = `r.id, r.sku, r.rating, r.title, r.body, u.name,
  ${isoInstant("r.created_at")} AS created_at`;

async function assertProductExists(db: Queryable, sku: string): Promise<void> {
  const { rows } = await db.query("SELECT 1 FROM products WHERE sku = $1", [sku]);
  if (rows.length === 0) throw notFound("Product", { sku });
}

/**
 * Posts the customer's review of a product: 404 for an unknown product, 403 NOT_A_VERIFIED_BUYER
 * without a delivered order of it, 409 REVIEW_EXISTS for a second one (the unique key decides, so
 * two at once make one).
 */
export async function postReview(
  db: Queryable,
  sku: string,
  principal: Principal,
  input: ReviewInput,
): Promise<Review> {
  await assertProductExists(db, sku);
  const { rows: bought } = await db.query(
    `SELECT 1 FROM orders o JOIN order_lines l ON l.order_id = o.id
      WHERE o.customer_id = $1 AND o.status = 'delivered' AND l.sku = $2
      LIMIT 1`,
    [principal.userId, sku],
  );
  if (bought.length === 0) throw new DomainError("NOT_A_VERIFIED_BUYER", { sku });
  const { rows } = await db.query<ReviewRow>(
    `WITH made AS (
       INSERT INTO reviews (id, sku, customer_id, rating, title, body)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (sku, customer_id) DO NOTHING
       RETURNING *
     )
     SELECT ${reviewColumns} FROM made r JOIN users u ON u.id = r.customer_id`,
    [randomUUID(), sku, principal.userId, input.rating, input.title ?? null, input.body ?? null],
  );
  if (!rows[0]) throw new DomainError("REVIEW_EXISTS", { sku });
  return toReview(rows[0]);
}

/** A product's reviews, newest first, keyset on (created_at, id). */
export async function listReviews(
  db: Queryable,
  sku: string,
  input: ListReviewsInput,
): Promise<Page<Review>> {
  await assertProductExists(db, sku);
  const after = input.cursor ? decodeCursor(input.cursor, CreatedAtIdCursor) : null;
  const { rows } = await db.query<ReviewRow>(
    `SELECT ${reviewColumns} FROM reviews r JOIN users u ON u.id = r.customer_id
      WHERE r.sku = $1
        AND ($2::timestamptz IS NULL OR (r.created_at, r.id) < ($2, $3::uuid))
      ORDER BY r.created_at DESC, r.id DESC
      LIMIT $4`,
    [sku, after?.[0] ?? null, after?.[1] ?? null, input.limit + 1],
  );
  return createdAtIdPage(rows.map(toReview), input.limit);
}
