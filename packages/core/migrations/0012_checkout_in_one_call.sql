-- Checkout confirms its order on disk inside the same call now (place_order_durably, in
-- packages/core/src/checkout/), so the separate confirmation query is gone.
DROP FUNCTION IF EXISTS durable_orders(uuid[]);
