-- The data of order.placed, order.held and order.released: the whole order, so that consumers need
-- no lookup, and its fingerprint (customer, SKUs and quantities, normalised address), equal for
-- the same order placed twice. Its shape is OrderEventData in order/events.ts. `p_lines` as in
-- order_json.
CREATE OR REPLACE FUNCTION order_event_data(o orders, p_lines jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'orderId', o.id,
    'customerId', o.customer_id,
    'lines', p_lines,
    'discountCents', o.discount_cents,
    'promotionCode', o.promotion_code,
    'totalCents', o.total_cents,
    'currency', o.currency,
    'shippingAddress', o.shipping_address,
    'fingerprint', o.fingerprint,
    'paymentMethod', o.payment_method)
$$;
