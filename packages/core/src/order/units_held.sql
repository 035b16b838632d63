-- The units of a SKU a customer holds: in their orders that are not cancelled. What a product's
-- maxPerCustomer counts, when a cart line is set (cart/index.ts) and at checkout (place_order).
CREATE OR REPLACE FUNCTION units_held(p_customer_id uuid, p_sku text) RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(l.quantity), 0)::integer
    FROM orders o JOIN order_lines l ON l.order_id = o.id AND l.sku = p_sku
   WHERE o.customer_id = p_customer_id AND o.status <> 'cancelled'
$$;
