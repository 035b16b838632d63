-- The discount rule, in one place: a percent of the subtotal rounded half up to a whole minor unit
-- (in integers: floor((2 * subtotal * percent + 100) / 200)), or a fixed amount capped at the
-- subtotal. Never more than the subtotal, never negative. Checkout and the cart both call it.
CREATE OR REPLACE FUNCTION promotion_discount(p_kind text, p_value bigint, p_subtotal bigint)
RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN p_subtotal <= 0 THEN 0
    WHEN p_kind = 'percent' THEN least((2 * p_subtotal * p_value + 100) / 200, p_subtotal)
    ELSE least(p_value, p_subtotal)
  END
$$;
