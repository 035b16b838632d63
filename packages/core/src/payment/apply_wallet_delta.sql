-- The one place a wallet's balance changes: a conditional update (never read-then-write) and its
-- ledger row, in the caller's transaction, like apply_stock_delta for stock. A credit opens the
-- wallet if the customer has none yet. Returns the balance after, or NULL when a debit would take
-- it below zero (nothing changed).
CREATE OR REPLACE FUNCTION apply_wallet_delta(
  p_customer_id uuid, p_delta bigint, p_reason text, p_order_id uuid, p_actor_id uuid, p_note text
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v_after bigint;
BEGIN
  IF p_delta > 0 THEN
    INSERT INTO wallets (customer_id) VALUES (p_customer_id) ON CONFLICT DO NOTHING;
  END IF;
  UPDATE wallets
     SET balance_cents = balance_cents + p_delta, updated_at = now()
   WHERE customer_id = p_customer_id AND balance_cents + p_delta >= 0
  RETURNING balance_cents INTO v_after;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  INSERT INTO wallet_transactions (customer_id, amount_cents, reason, order_id, note, actor_id,
                                   balance_after_cents)
  VALUES (p_customer_id, p_delta, p_reason, p_order_id, p_note, p_actor_id, v_after);
  RETURN v_after;
END;
$$;
