import * as z from "zod";

/**
 * The data of inventory.low, inventory.out and inventory.restocked, written by apply_stock_delta
 * and set_min_quantity when the stock crosses a threshold.
 */
export const InventoryEventData = z.object({
  sku: z.string(),
  available: z.number().int(),
  minQuantity: z.number().int(),
  /** The order whose sale (or cancellation) crossed the threshold; null for a manual change. */
  orderId: z.uuid().nullable(),
});
export type InventoryEventData = z.infer<typeof InventoryEventData>;
