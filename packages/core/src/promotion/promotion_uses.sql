-- A customer's uses of a code: their orders that carry it and are not cancelled. What a
-- promotion's perCustomerLimit counts, when it is applied to a cart and at checkout.
CREATE OR REPLACE FUNCTION promotion_uses(p_customer_id uuid, p_code text) RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT count(*)::integer FROM orders
   WHERE promotion_code = p_code AND customer_id = p_customer_id AND status <> 'cancelled'
$$;
