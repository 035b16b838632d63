-- The minimum is a threshold like any other: raising it above the stock makes the SKU low, lowering
-- it to or below the stock re-arms it. Both are crossings and write the same events a movement
-- would, so "one low-stock email per crossing" holds whichever side of the comparison moved.
CREATE OR REPLACE FUNCTION set_min_quantity(p_sku text, p_min integer) RETURNS stock
LANGUAGE plpgsql AS $$
DECLARE
  v_old integer;
  v_row stock%ROWTYPE;
BEGIN
  SELECT min_quantity INTO v_old FROM stock WHERE sku = p_sku FOR UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  UPDATE stock SET min_quantity = p_min, updated_at = now() WHERE sku = p_sku RETURNING * INTO v_row;
  IF v_row.available >= v_old AND v_row.available < p_min THEN
    INSERT INTO outbox (type, data) VALUES ('inventory.low', jsonb_build_object(
      'sku', p_sku, 'available', v_row.available, 'minQuantity', p_min, 'orderId', NULL));
  ELSIF v_row.available < v_old AND v_row.available >= p_min THEN
    INSERT INTO outbox (type, data) VALUES ('inventory.restocked', jsonb_build_object(
      'sku', p_sku, 'available', v_row.available, 'minQuantity', p_min, 'orderId', NULL));
  END IF;
  RETURN v_row;
END;
$$;
