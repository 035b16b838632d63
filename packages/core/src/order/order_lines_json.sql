-- An order's lines as the API and the order events show them, in SKU order (the order in which
-- checkout takes their stock).
CREATE OR REPLACE FUNCTION order_lines_json(p_order_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'sku', l.sku, 'name', l.name, 'quantity', l.quantity,
           'unitPriceCents', l.unit_price_cents) ORDER BY l.sku), '[]'::jsonb)
    FROM order_lines l
   WHERE l.order_id = p_order_id
$$;
