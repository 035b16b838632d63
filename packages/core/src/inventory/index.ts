import { MAX_STOCK } from "../catalog/index.ts";
import type { Db, Queryable } from "../db/types.ts";
import { insufficientStockForSku, notFound } from "../error.ts";
import { decodeCursor, encodeCursor, Page } from "../pagination.ts";
import * as z from "../zod.ts";

/** Why stock moved. `initial`, `sale` and `cancellation` are written by the system only. */
export const MovementReason = z.enum([
  "initial",
  "sale",
  "cancellation",
  "restock",
  "correction",
  "damage",
  "return",
  "loss",
]);
export type MovementReason = z.infer<typeof MovementReason>;

const ManualReason = z.enum(["restock", "correction", "damage", "return", "loss"]);
const increasing: readonly string[] = ["restock", "return"];
const decreasing: readonly string[] = ["damage", "loss"];

export const AdjustStockInput = z
  .strictObject({
    delta: z.int().check(
      z.minimum(-MAX_STOCK),
      z.maximum(MAX_STOCK),
      z.refine((d) => d !== 0, "must not be 0"),
    ),
    reason: ManualReason,
    note: z.optional(z.string().check(z.trim(), z.maxLength(1000))),
  })
  .check(
    z.refine((a) => !increasing.includes(a.reason) || a.delta > 0, {
      message: "restock and return must add stock (delta > 0)",
      path: ["delta"],
    }),
    z.refine((a) => !decreasing.includes(a.reason) || a.delta < 0, {
      message: "damage and loss must remove stock (delta < 0)",
      path: ["delta"],
    }),
  );
export type AdjustStockInput = z.infer<typeof AdjustStockInput>;

export const SetMinimumInput = z.strictObject({
  minQuantity: z.int().check(z.minimum(0), z.maximum(MAX_STOCK)),
});
export type SetMinimumInput = z.infer<typeof SetMinimumInput>;

export const ListInventoryInput = z.object({
  low: z.pipe(
    z.optional(z.enum(["true", "false"])),
    z.transform((v) => v === "true"),
  ),
});

export const StockLevel = z.object({
  sku: z.string(),
  available: z.int(),
  minQuantity: z.int(),
});
export type StockLevel = z.infer<typeof StockLevel>;

export const InventoryItem = z.object({
  sku: z.string(),
  name: z.string(),
  available: z.int(),
  minQuantity: z.int(),
  /** Strictly below the minimum: the line the low-stock alerts cross. */
  low: z.boolean(),
});
export type InventoryItem = z.infer<typeof InventoryItem>;
export const InventoryList = z.object({ items: z.array(InventoryItem) });

export const Movement = z.object({
  at: z.iso.datetime(),
  delta: z.int(),
  reason: MovementReason,
  orderId: z.nullable(z.uuid()),
  availableAfter: z.int(),
  /** Who made the change: a staff member's adjustment; null for the system (sales, cancellations by it). */
  actor: z.nullable(z.object({ id: z.uuid(), email: z.string() })),
  /** The adjustment's note, as its author wrote it. */
  note: z.nullable(z.string()),
});
export type Movement = z.infer<typeof Movement>;
export const MovementPage = Page(Movement);

/** `low` means strictly below the reorder point, the same line the low-stock alerts cross. */
export async function listInventory(
  db: Queryable,
  input: { low: boolean },
): Promise<{ items: InventoryItem[] }> {
  const { rows } = await db.query<InventoryItem>(
    `SELECT s.sku, p.name, s.available, s.min_quantity AS "minQuantity",
            s.available < s.min_quantity AS low
       FROM stock s JOIN products p USING (sku)
      WHERE NOT $1 OR s.available < s.min_quantity
      ORDER BY s.sku`,
    [input.low],
  );
  return { items: rows };
}

export async function getStockLevel(db: Queryable, sku: string): Promise<StockLevel> {
  const { rows } = await db.query<StockLevel>(
    `SELECT sku, available, min_quantity AS "minQuantity" FROM stock WHERE sku = $1`,
    [sku],
  );
  if (!rows[0]) throw notFound("Product", { sku });
  return rows[0];
}

/**
 * A stock manager's correction, restock or write-off: one conditional update through
 * apply_stock_delta, so the ledger row and any threshold event commit with it or not at all.
 */
export async function adjustStock(
  db: Db,
  sku: string,
  input: AdjustStockInput,
  actorId: string,
): Promise<StockLevel> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ after: number | null }>(
      `SELECT apply_stock_delta($1, $2, $3, NULL, $4, $5) AS after`,
      [sku, input.delta, input.reason, actorId, input.note ?? null],
    );
    if (rows[0]?.after == null) {
      const level = await getStockLevel(tx, sku);
      throw insufficientStockForSku(sku, -input.delta, level.available);
    }
    return getStockLevel(tx, sku);
  });
}

/**
 * Sets the threshold below which the stock manager is told. Crossing it by moving the threshold
 * counts like crossing it by selling: see set_min_quantity.
 */
export async function setMinimum(db: Db, sku: string, input: SetMinimumInput): Promise<StockLevel> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<StockLevel>(
      `SELECT s.sku, s.available, s.min_quantity AS "minQuantity"
         FROM set_min_quantity($1, $2) s WHERE s.sku IS NOT NULL`,
      [sku, input.minQuantity],
    );
    if (!rows[0]) throw notFound("Product", { sku });
    return rows[0];
  });
}

export const ListMovementsInput = z.object({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000)), 100),
  cursor: z.optional(z.string().check(z.maxLength(500))),
});
export type ListMovementsInput = z.infer<typeof ListMovementsInput>;

/** The ledger of one SKU, oldest first, in pages (a hot SKU has one row per unit sold). */
export async function listMovements(
  db: Queryable,
  sku: string,
  input: ListMovementsInput,
): Promise<Page<Movement>> {
  await getStockLevel(db, sku);
  const after = input.cursor ? decodeCursor(input.cursor, z.tuple([z.int()]))[0] : 0;
  const { rows } = await db.query<Movement & { id: number; at: Date }>(
    `SELECT m.id, m.at, m.delta, m.reason, m.order_id AS "orderId",
            m.available_after AS "availableAfter",
            CASE WHEN u.id IS NULL THEN NULL
                 ELSE jsonb_build_object('id', u.id, 'email', u.email) END AS actor,
            m.note
       FROM stock_movements m LEFT JOIN users u ON u.id = m.actor_id
      WHERE m.sku = $1 AND m.id > $2 ORDER BY m.id LIMIT $3`,
    [sku, after, input.limit + 1],
  );
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.map(({ id: _id, at, ...m }) => ({ at: at.toISOString(), ...m })),
    nextCursor: rows.length > input.limit && last ? encodeCursor([last.id]) : null,
  };
}
