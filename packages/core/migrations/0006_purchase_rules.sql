-- Flash-sale rules on a product: how many units one customer may hold across orders that are not
-- cancelled (counted at checkout over orders (customer_id, ...) and order_lines' (order_id, sku)
-- key, under a per-customer lock), and from when it can be put in a cart and bought.
ALTER TABLE products
  ADD COLUMN max_per_customer integer CHECK (max_per_customer IS NULL OR max_per_customer >= 1),
  ADD COLUMN available_from timestamptz;
