import * as z from "../zod.ts";

/**
 * The data of inventory.low, inventory.out and inventory.restocked, written by apply_stock_delta
 * and set_min_quantity when the stock crosses a threshold.
 */
export const InventoryEventData = z.object({
  sku: z.string(),
  available: z.int(),
  minQuantity: z.int(),
  /** The order whose sale (or cancellation) crossed the threshold; null for a manual change. */
  orderId: z.nullable(z.uuid()),
});
export type InventoryEventData = z.infer<typeof InventoryEventData>;
