-- The one place an order becomes the API's JSON: read by getOrder and listOrders, returned by the
-- order transitions, and stored by place_order as its idempotent answer. Its shape (and key order)
-- is the Order schema in order/index.ts, which also hides the card payment's client secret from
-- anyone but the owner. Instants in milliseconds and UTC, as everywhere in the API. `p_lines`:
-- its lines, order_lines_json(o.id), or what place_order just wrote: an argument rather than a
-- query inside, so that checkout's call stays a plain expression and reads nothing back.
CREATE OR REPLACE FUNCTION order_json(o orders, p_lines jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', o.id,
    'status', o.status,
    'customerId', o.customer_id,
    'lines', p_lines,
    'subtotalCents', o.subtotal_cents,
    'discountCents', o.discount_cents,
    'promotionCode', o.promotion_code,
    'totalCents', o.total_cents,
    'currency', o.currency,
    'shippingAddress', o.shipping_address,
    'hold', o.hold,
    'payment', jsonb_build_object(
      'method', o.payment_method,
      'status', o.payment_status,
      'amountCents', o.total_cents,
      'refundedCents', o.refunded_cents,
      'clientSecret', CASE WHEN o.payment_status = 'pending' THEN o.client_secret END),
    'shipment', CASE WHEN o.carrier IS NULL THEN NULL ELSE jsonb_build_object(
      'carrier', o.carrier,
      'trackingNumber', o.tracking_number,
      'trackingUrl', o.tracking_url,
      'shippedAt', to_char(o.shipped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'deliveredAt', to_char(o.delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
    END,
    'history', o.history,
    'createdAt', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'updatedAt', to_char(o.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
$$;
