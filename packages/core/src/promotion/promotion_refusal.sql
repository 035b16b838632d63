-- Why a promotion cannot be redeemed on a cart now, as {code, details} with the error code from
-- the registry (core/src/error.ts; every one is a 409), or NULL when it can. The cart asks it when
-- a code is applied and when it shows the discount (p_count_uses false: uses change under it, and
-- a checked-out cart's own order is one of them); place_order asks it before its conditional
-- increment, which alone decides the uses.
CREATE OR REPLACE FUNCTION promotion_refusal(
  p promotions, p_subtotal bigint, p_currency text, p_customer_id uuid, p_count_uses boolean
) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN NOT p.active OR p.starts_at > now() OR p.ends_at <= now() THEN
      jsonb_build_object('code', 'PROMOTION_INACTIVE', 'details', jsonb_build_object(
        'code', p.code, 'active', p.active,
        'startsAt', to_char(p.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'endsAt', to_char(p.ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
    WHEN p.currency IS NOT NULL AND p_currency IS NOT NULL AND p.currency <> p_currency THEN
      jsonb_build_object('code', 'CURRENCY_MISMATCH', 'details', jsonb_build_object(
        'code', p.code, 'currency', p.currency, 'cartCurrency', p_currency))
    WHEN p_subtotal < p.min_subtotal_cents THEN
      jsonb_build_object('code', 'PROMOTION_MIN_SUBTOTAL', 'details', jsonb_build_object(
        'code', p.code, 'minSubtotalCents', p.min_subtotal_cents, 'subtotalCents', p_subtotal))
    WHEN p_count_uses AND p.used >= p.usage_limit THEN
      jsonb_build_object('code', 'PROMOTION_EXHAUSTED', 'details', jsonb_build_object(
        'code', p.code, 'used', p.used, 'usageLimit', p.usage_limit))
    WHEN p_count_uses AND p_customer_id IS NOT NULL
         AND promotion_uses(p_customer_id, p.code) >= p.per_customer_limit THEN
      jsonb_build_object('code', 'PROMOTION_ALREADY_USED', 'details', jsonb_build_object(
        'code', p.code, 'perCustomerLimit', p.per_customer_limit))
  END
$$;
