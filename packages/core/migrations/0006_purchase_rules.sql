-- Flash-sale rules on a product: how many units one customer may hold across orders that are not
-- cancelled (counted at checkout over orders (customer_id, ...) and order_lines' (order_id, sku)
-- key, under a per-customer lock), and from when it can be put in a cart and bought.
ALTER TABLE products
  ADD COLUMN max_per_customer integer CHECK (max_per_customer IS NULL OR max_per_customer >= 1),
  ADD COLUMN available_from timestamptz;

-- The currency a cart line was priced in when it was last set: a product whose currency changed
-- since cannot be bought from that cart at a price the customer never saw (PRICE_CHANGED).
-- Nullable: a line set by code that predates the column is simply not checked.
ALTER TABLE cart_items ADD COLUMN currency char(3);
UPDATE cart_items i SET currency = p.currency FROM products p WHERE p.sku = i.sku;

-- place_order gained p_expected_total.
DROP FUNCTION IF EXISTS place_order(uuid, text, text, uuid, jsonb, text, interval, text);
