-- Storefront core: users, catalog, stock and its ledger, carts, orders, idempotency keys, outbox.

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  password_hash text NOT NULL,
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('customer', 'stock_manager', 'ops', 'admin')),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Emails are compared case-insensitively: Ann@x.com and ann@x.com are one account.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE products (
  sku text PRIMARY KEY,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  price_cents bigint NOT NULL CHECK (price_cents >= 0),
  currency char(3) NOT NULL,
  category text,
  image_urls jsonb NOT NULL DEFAULT '[]',
  attributes jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_category_sku_idx ON products (category, sku);

-- Stock lives in its own narrow table: in a flash sale this row is updated thousands of times a
-- second, and a narrow row without indexed columns changing keeps every update a HOT update.
CREATE TABLE stock (
  sku text PRIMARY KEY REFERENCES products (sku),
  available integer NOT NULL,
  min_quantity integer NOT NULL CHECK (min_quantity >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- The last line of defence. The application never relies on it: every decrement is conditional.
  CONSTRAINT stock_available_not_negative CHECK (available >= 0)
) WITH (fillfactor = 50);

-- No foreign key on sku: its check would run while the hot stock row is locked (it is a query on
-- that very row), and every movement is written by apply_stock_delta (or beside the INSERT INTO
-- stock that creates the SKU) with the sku of the row it just changed. Stock rows are never deleted.
CREATE TABLE stock_movements (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sku text NOT NULL,
  delta integer NOT NULL CHECK (delta <> 0),
  reason text NOT NULL CHECK (
    reason IN ('initial', 'sale', 'cancellation', 'restock', 'correction', 'damage', 'return', 'loss')
  ),
  order_id uuid,
  available_after integer NOT NULL CHECK (available_after >= 0),
  note text,
  actor_id uuid,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_movements_sku_idx ON stock_movements (sku, id);

CREATE TABLE carts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  customer_id uuid REFERENCES users (id),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'checked_out')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cart_items (
  cart_id uuid NOT NULL REFERENCES carts (id),
  sku text NOT NULL REFERENCES products (sku),
  quantity integer NOT NULL CHECK (quantity > 0),
  added_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (cart_id, sku)
);

CREATE TABLE orders (
  id uuid PRIMARY KEY,
  customer_id uuid NOT NULL REFERENCES users (id),
  -- One cart becomes at most one order, whatever the application does.
  cart_id uuid NOT NULL UNIQUE REFERENCES carts (id),
  status text NOT NULL CHECK (status IN ('placed', 'on_hold', 'confirmed', 'cancelled')),
  total_cents bigint NOT NULL CHECK (total_cents >= 0),
  currency char(3) NOT NULL,
  shipping_address jsonb NOT NULL,
  fingerprint text NOT NULL,
  hold jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_created_idx ON orders (customer_id, created_at DESC, id DESC);
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);

CREATE TABLE order_lines (
  order_id uuid NOT NULL REFERENCES orders (id),
  sku text NOT NULL REFERENCES products (sku),
  name text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, sku)
);

CREATE TABLE idempotency_keys (
  customer_id uuid NOT NULL REFERENCES users (id),
  key text NOT NULL,
  request_hash text NOT NULL,
  status_code integer NOT NULL,
  response jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (customer_id, key)
);

CREATE TABLE outbox (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  type text NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  data jsonb NOT NULL,
  published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (seq) WHERE published_at IS NULL;

-- The one place stock changes. A conditional update (never read-then-write), its ledger row, and
-- the outbox rows for threshold crossings, all in the caller's transaction.
-- Returns the new available quantity, or NULL when the change would take stock below zero.
CREATE FUNCTION apply_stock_delta(
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

-- Checkout as one database call, so that the hot stock row is locked only from its decrement to the
-- commit, with no network round trip in between. Everything that can fail without touching stock
-- happens first; the decrements come last, in SKU order so that two multi-line orders cannot
-- deadlock. Errors are raised with SQLSTATE FS4xx, the message as the error code and a JSON detail,
-- which rolls back the whole statement.
CREATE FUNCTION place_order(
  p_customer_id uuid,
  p_idempotency_key text,
  p_request_hash text,
  p_cart_id uuid,
  p_shipping_address jsonb,
  p_address_key text
) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_existing idempotency_keys%ROWTYPE;
  v_cart carts%ROWTYPE;
  v_order_id uuid := gen_random_uuid();
  v_lines jsonb;
  v_currencies integer;
  v_total bigint;
  v_currency char(3);
  v_order jsonb;
  v_line record;
  v_short jsonb := '[]'::jsonb;
  v_after integer;
  -- Millisecond precision, so that the stored response and a later read print the same instant.
  v_now timestamptz := date_trunc('milliseconds', now());
BEGIN
  -- A concurrent request with the same key waits here until the first one commits or rolls back.
  INSERT INTO idempotency_keys (customer_id, key, request_hash, status_code, response)
  VALUES (p_customer_id, p_idempotency_key, p_request_hash, 0, 'null')
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    SELECT * INTO v_existing FROM idempotency_keys
     WHERE customer_id = p_customer_id AND key = p_idempotency_key;
    IF v_existing.request_hash <> p_request_hash THEN
      RAISE EXCEPTION USING ERRCODE = 'FS422', MESSAGE = 'IDEMPOTENCY_KEY_REUSED',
        DETAIL = jsonb_build_object('key', p_idempotency_key)::text;
    END IF;
    RETURN jsonb_build_object('replayed', true, 'statusCode', v_existing.status_code,
      'order', v_existing.response);
  END IF;

  -- Closing the cart locks it: a second key on the same cart waits, then finds it closed.
  SELECT * INTO v_cart FROM carts WHERE id = p_cart_id FOR UPDATE;
  IF NOT FOUND OR (v_cart.customer_id IS NOT NULL AND v_cart.customer_id <> p_customer_id) THEN
    RAISE EXCEPTION USING ERRCODE = 'FS404', MESSAGE = 'NOT_FOUND',
      DETAIL = jsonb_build_object('cartId', p_cart_id)::text;
  END IF;
  IF v_cart.status <> 'open' THEN
    RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = 'CART_CLOSED',
      DETAIL = jsonb_build_object('cartId', p_cart_id)::text;
  END IF;

  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'sku', p.sku, 'name', p.name, 'quantity', i.quantity, 'unitPriceCents', p.price_cents)
           ORDER BY p.sku), '[]'::jsonb),
         count(DISTINCT p.currency), sum(p.price_cents * i.quantity), min(p.currency)
    INTO v_lines, v_currencies, v_total, v_currency
    FROM cart_items i JOIN products p ON p.sku = i.sku
   WHERE i.cart_id = p_cart_id;
  IF jsonb_array_length(v_lines) = 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'FS400', MESSAGE = 'CART_EMPTY',
      DETAIL = jsonb_build_object('cartId', p_cart_id)::text;
  END IF;
  IF v_currencies > 1 THEN
    RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = 'CURRENCY_MISMATCH',
      DETAIL = jsonb_build_object('cartId', p_cart_id)::text;
  END IF;

  -- Fail fast, without waiting for any row lock, when a line is already short: once a flash sale
  -- sells out, the losing buyers cost one read instead of a queue on the hot row. This read decides
  -- nothing in the buyer's favour: the conditional decrements below still do.
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'sku', s.sku, 'requested', i.quantity, 'available', s.available) ORDER BY s.sku), '[]')
    INTO v_short
    FROM cart_items i JOIN stock s ON s.sku = i.sku
   WHERE i.cart_id = p_cart_id AND s.available < i.quantity;
  IF jsonb_array_length(v_short) > 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = 'INSUFFICIENT_STOCK',
      DETAIL = jsonb_build_object('lines', v_short)::text;
  END IF;

  UPDATE carts SET status = 'checked_out', customer_id = p_customer_id, updated_at = v_now
   WHERE id = p_cart_id;

  INSERT INTO orders (id, customer_id, cart_id, status, total_cents, currency, shipping_address,
                      fingerprint, created_at, updated_at)
  VALUES (v_order_id, p_customer_id, p_cart_id, 'placed', v_total, v_currency, p_shipping_address,
          -- Same customer, same SKUs and quantities, same normalised address: the same order.
          encode(sha256(convert_to(concat_ws('|', p_customer_id,
            (SELECT string_agg((l->>'sku') || '*' || (l->>'quantity'), ',' ORDER BY l->>'sku')
               FROM jsonb_array_elements(v_lines) l),
            p_address_key), 'UTF8')), 'hex'),
          v_now, v_now);
  INSERT INTO order_lines (order_id, sku, name, quantity, unit_price_cents)
  SELECT v_order_id, l->>'sku', l->>'name', (l->>'quantity')::integer, (l->>'unitPriceCents')::bigint
    FROM jsonb_array_elements(v_lines) l;

  v_order := jsonb_build_object(
    'id', v_order_id, 'status', 'placed', 'customerId', p_customer_id, 'lines', v_lines,
    'totalCents', v_total, 'currency', v_currency, 'shippingAddress', p_shipping_address,
    'createdAt', to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));

  UPDATE idempotency_keys SET status_code = 201, response = v_order
   WHERE customer_id = p_customer_id AND key = p_idempotency_key;
  INSERT INTO outbox (type, data) VALUES ('order.placed', jsonb_build_object(
    'orderId', v_order_id, 'customerId', p_customer_id, 'lines', v_lines, 'totalCents', v_total,
    'currency', v_currency, 'shippingAddress', p_shipping_address));

  -- Last, and in SKU order: the conditional decrements.
  FOR v_line IN
    SELECT l->>'sku' AS sku, (l->>'quantity')::integer AS quantity
      FROM jsonb_array_elements(v_lines) l ORDER BY l->>'sku'
  LOOP
    v_after := apply_stock_delta(v_line.sku, -v_line.quantity, 'sale', v_order_id, p_customer_id, NULL);
    IF v_after IS NULL THEN
      v_short := v_short || jsonb_build_object('sku', v_line.sku, 'requested', v_line.quantity,
        'available', (SELECT available FROM stock WHERE sku = v_line.sku));
    END IF;
  END LOOP;
  IF jsonb_array_length(v_short) > 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = 'INSUFFICIENT_STOCK',
      DETAIL = jsonb_build_object('lines', v_short)::text;
  END IF;

  RETURN jsonb_build_object('replayed', false, 'statusCode', 201, 'order', v_order);
END;
$$;
