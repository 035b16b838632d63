-- The one place an order becomes the API's JSON: read by getOrder and listOrders, returned by the
-- order transitions, and stored by place_order as its idempotent answer. Its shape (and key order)
-- is the Order schema in order/index.ts. Instants in milliseconds and UTC, as everywhere in the API.
CREATE OR REPLACE FUNCTION order_json(o orders) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', o.id,
    'status', o.status,
    'customerId', o.customer_id,
    'lines', order_lines_json(o.id),
    'totalCents', o.total_cents,
    'currency', o.currency,
    'shippingAddress', o.shipping_address,
    'hold', o.hold,
    'createdAt', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
$$;
