-- The one place stock changes. A conditional update (never read-then-write), its ledger row, and
-- the outbox rows for threshold crossings, all in the caller's transaction.
-- Returns the new available quantity, or NULL when the change would take stock below zero.
-- It flags the transaction when it writes a threshold event, so that place_order can skip looking
-- for events (under the lock) in the usual case of no crossing.
CREATE OR REPLACE FUNCTION apply_stock_delta(
  p_sku text, p_delta integer, p_reason text, p_order_id uuid, p_actor_id uuid, p_note text
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_after integer;
  v_min integer;
  v_before integer;
BEGIN
  UPDATE stock
     SET available = available + p_delta, updated_at = now()
   WHERE sku = p_sku AND available >= -p_delta AND available + p_delta <= 1000000000
  RETURNING available, min_quantity INTO v_after, v_min;
  IF NOT FOUND THEN
    IF p_delta > 0 AND EXISTS (SELECT 1 FROM stock WHERE sku = p_sku) THEN
      RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = 'STOCK_LIMIT_EXCEEDED',
        DETAIL = jsonb_build_object('sku', p_sku, 'max', 1000000000)::text;
    END IF;
    RETURN NULL;
  END IF;
  v_before := v_after - p_delta;

  INSERT INTO stock_movements (sku, delta, reason, order_id, available_after, note, actor_id)
  VALUES (p_sku, p_delta, p_reason, p_order_id, v_after, p_note, p_actor_id);

  -- Tell the caller that this transaction now holds a stock event (see place_order's return).
  IF (v_before >= v_min AND v_after < v_min) OR (v_before > 0 AND v_after = 0)
     OR (v_before < v_min AND v_after >= v_min) THEN
    PERFORM set_config('flashstock.stock_events', 'on', true);
  END IF;
  IF v_before >= v_min AND v_after < v_min THEN
    INSERT INTO outbox (type, data) VALUES ('inventory.low', jsonb_build_object(
      'sku', p_sku, 'available', v_after, 'minQuantity', v_min, 'orderId', p_order_id));
  END IF;
  IF v_before > 0 AND v_after = 0 THEN
    INSERT INTO outbox (type, data) VALUES ('inventory.out', jsonb_build_object(
      'sku', p_sku, 'available', v_after, 'minQuantity', v_min, 'orderId', p_order_id));
  END IF;
  IF v_before < v_min AND v_after >= v_min THEN
    INSERT INTO outbox (type, data) VALUES ('inventory.restocked', jsonb_build_object(
      'sku', p_sku, 'available', v_after, 'minQuantity', v_min, 'orderId', p_order_id));
  END IF;
  RETURN v_after;
END;
$$;
