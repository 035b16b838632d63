/**
 * Promotions: coupon codes for a flash sale. A cart holds one (cart/index.ts); checkout redeems it
 * inside place_order, with one conditional increment of `used` (never past `usageLimit`) and a count of
 * the customer's orders that carry it (never past `perCustomerLimit`), so that no interleaving of
 * checkouts can over-redeem it; a cancelled order gives its use back.
 */
import { Currency } from "../catalog/index.ts";
import { isoInstant } from "../db/instant.ts";
import type { Queryable } from "../db/types.ts";
import { DomainError, notFound } from "../error.ts";
import { decodeCursor, encodeCursor, Limit, Page } from "../pagination.ts";
import * as z from "../zod.ts";

/** 3-32 of A-Z 0-9 - _, matched case-insensitively: stored and compared in upper case. */
export const PromotionCode = z.pipe(
  z.string().check(z.trim(), z.toUpperCase()),
  z.string().check(z.regex(/^[A-Z0-9_-]{3,32}$/, "3-32 of A-Z, 0-9, '-' and '_'")),
);

const Instant = z.nullable(z.iso.datetime({ offset: true }));
const Count = z.nullable(z.int().check(z.minimum(1), z.maximum(1_000_000_000)));

export const CreatePromotionInput = z
  .strictObject({
    code: PromotionCode,
    kind: z.enum(["percent", "fixed"]),
    value: z.int().check(z.minimum(1), z.maximum(1_000_000_000)),
    currency: z.optional(Currency),
    minSubtotalCents: z._default(z.int().check(z.minimum(0), z.maximum(1_000_000_000)), 0),
    startsAt: z._default(z.optional(Instant), null),
    endsAt: z._default(z.optional(Instant), null),
    usageLimit: z._default(z.optional(Count), null),
    perCustomerLimit: z._default(z.optional(Count), null),
  })
  .check(
    z.refine((p) => p.kind !== "percent" || p.value <= 100, {
      message: "a percent is 1-100",
      path: ["value"],
    }),
    z.refine((p) => p.kind !== "fixed" || p.currency !== undefined, {
      message: "a fixed discount needs its currency",
      path: ["currency"],
    }),
    z.refine((p) => !p.startsAt || !p.endsAt || Date.parse(p.startsAt) < Date.parse(p.endsAt), {
      message: "must be after startsAt",
      path: ["endsAt"],
    }),
  );
export type CreatePromotionInput = z.infer<typeof CreatePromotionInput>;

export const Promotion = z.object({
  code: z.string(),
  kind: z.enum(["percent", "fixed"]),
  value: z.int(),
  currency: z.nullable(z.string()),
  minSubtotalCents: z.int(),
  startsAt: z.nullable(z.iso.datetime()),
  endsAt: z.nullable(z.iso.datetime()),
  usageLimit: z.nullable(z.int()),
  perCustomerLimit: z.nullable(z.int()),
  /** Orders that redeemed it and are not cancelled. */
  used: z.int(),
  active: z.boolean(),
});
export type Promotion = z.infer<typeof Promotion>;
export const PromotionPage = Page(Promotion);

export const ListPromotionsInput = z.object({
  limit: Limit,
  cursor: z.optional(z.string().check(z.maxLength(500))),
});
export type ListPromotionsInput = z.infer<typeof ListPromotionsInput>;

const promotionColumns = `code, kind, value::int AS value, currency,
  min_subtotal_cents::int AS "minSubtotalCents",
  ${isoInstant("starts_at")} AS "startsAt", ${isoInstant("ends_at")} AS "endsAt",
  usage_limit AS "usageLimit", per_customer_limit AS "perCustomerLimit", used, active`;

const fromRow = (row: unknown): Promotion => Promotion.parse(row);

export async function createPromotion(
  db: Queryable,
  input: CreatePromotionInput,
): Promise<Promotion> {
  const { rows } = await db.query(
    `INSERT INTO promotions (code, kind, value, currency, min_subtotal_cents, starts_at, ends_at,
                             usage_limit, per_customer_limit)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (code) DO NOTHING
     RETURNING ${promotionColumns}`,
    [
      input.code,
      input.kind,
      input.value,
      input.kind === "fixed" ? (input.currency ?? null) : null,
      input.minSubtotalCents,
      input.startsAt,
      input.endsAt,
      input.usageLimit,
      input.perCustomerLimit,
    ],
  );
  if (!rows[0]) throw new DomainError("PROMOTION_EXISTS", { code: input.code });
  return fromRow(rows[0]);
}

export async function getPromotion(db: Queryable, code: string): Promise<Promotion> {
  const { rows } = await db.query(`SELECT ${promotionColumns} FROM promotions WHERE code = $1`, [
    code,
  ]);
  if (!rows[0]) throw notFound("Promotion", { code });
  return fromRow(rows[0]);
}

/** Keyset pagination on the code. */
export async function listPromotions(
  db: Queryable,
  input: ListPromotionsInput,
): Promise<Page<Promotion>> {
  const after = input.cursor ? decodeCursor(input.cursor, z.tuple([z.string()]))[0] : null;
  const { rows } = await db.query(
    `SELECT ${promotionColumns} FROM promotions
      WHERE ($1::text IS NULL OR code > $1) ORDER BY code LIMIT $2`,
    [after, input.limit + 1],
  );
  const items = rows.slice(0, input.limit).map(fromRow);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.code]) : null,
  };
}

export const UpdatePromotionInput = z
  .strictObject({
    active: z.optional(z.boolean()),
    endsAt: z.optional(Instant),
    usageLimit: z.optional(Count),
    perCustomerLimit: z.optional(Count),
  })
  .check(z.refine((u) => Object.keys(u).length > 0, "at least one field to change"));
export type UpdatePromotionInput = z.infer<typeof UpdatePromotionInput>;

const columnByField: Record<keyof UpdatePromotionInput, string> = {
  active: "active",
  endsAt: "ends_at",
  usageLimit: "usage_limit",
  perCustomerLimit: "per_customer_limit",
};

/**
 * Changes what may change while a promotion runs: whether it is active, when it ends, its limits.
 * A usage limit below the uses already taken is refused with 409 PROMOTION_EXHAUSTED (it would
 * break `used <= usageLimit`), an end before the start with 400 VALIDATION_FAILED. Both are
 * conditions of the update itself, so a checkout redeeming the code at that moment cannot slip
 * between a check and the write.
 */
export async function updatePromotion(
  db: Queryable,
  code: string,
  input: UpdatePromotionInput,
): Promise<Promotion> {
  const fields = Object.keys(input) as (keyof UpdatePromotionInput)[];
  const sets = fields.map((f, i) => `${columnByField[f]} = $${i + 4}`);
  const { rows } = await db.query(
    `UPDATE promotions SET ${sets.join(", ")}
      WHERE code = $1 AND ($2::int IS NULL OR used <= $2)
        AND ($3::timestamptz IS NULL OR starts_at IS NULL OR starts_at < $3)
      RETURNING ${promotionColumns}`,
    [code, input.usageLimit ?? null, input.endsAt ?? null, ...fields.map((f) => input[f])],
  );
  if (rows[0]) return fromRow(rows[0]);
  const current = await getPromotion(db, code);
  if (input.usageLimit != null && input.usageLimit < current.used) {
    throw new DomainError("PROMOTION_EXHAUSTED", {
      code,
      used: current.used,
      usageLimit: input.usageLimit,
    });
  }
  throw new DomainError("VALIDATION_FAILED", {
    in: "body",
    issues: [{ path: "endsAt", message: "must be after startsAt" }],
  });
}
