-- Checkout in one round trip, acknowledged only once on disk. place_order commits without waiting
-- for its WAL flush, so that the hot stock row is unlocked as soon as the commit record is
-- written; this procedure then commits it and, in a second transaction of the same call, waits
-- for the flush (flush_committed_wal) before it returns.
--
-- Why a procedure: only CALL may commit in the middle. Before, the client sent a second query
-- for the flush, which also had to prove that the server that flushed was the one that committed
-- (a pool reconnects after a restart). Here both transactions run in one session: if the server
-- went down between them, the call fails with the connection and nothing is acknowledged. One
-- round trip fewer per order, which is what a Lambda far from its database pays for most.
--
-- CALL it in autocommit, never inside a transaction block (COMMIT would be refused there).
CREATE OR REPLACE PROCEDURE place_order_durably(
  p_customer_id uuid,
  p_idempotency_key text,
  p_request_hash text,
  p_cart_id uuid,
  p_shipping_address jsonb,
  p_address_key text,
  p_duplicate_window interval,
  p_payment_method text,
  p_expected_total bigint,
  INOUT result jsonb DEFAULT NULL
)
LANGUAGE plpgsql AS $$
BEGIN
  result := place_order(p_customer_id, p_idempotency_key, p_request_hash, p_cart_id,
    p_shipping_address, p_address_key, p_duplicate_window, p_payment_method, p_expected_total);
  COMMIT;
  -- Also after a replay: the first request with this key may have committed a moment ago.
  PERFORM flush_committed_wal();
END;
$$;
