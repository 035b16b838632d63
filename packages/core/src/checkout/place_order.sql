-- Checkout as one database call, so that the hot stock row is locked only from its decrement to the
-- commit, with no network round trip in between. Everything that can fail without touching stock
-- happens first; the decrements come last, in SKU order so that two multi-line orders cannot
-- deadlock. Errors are raised with SQLSTATE FS + the status of their code in the error registry
-- (core/src/error.ts), the code as the message and a JSON detail, which rolls back the whole
-- statement.
--
-- Payment: store credit debits the customer's wallet in this transaction (402 INSUFFICIENT_FUNDS
-- when it does not cover the total); cash on delivery is paid at the door; a card order takes its
-- stock and waits for its payment (awaiting_payment, announced by order.awaiting_payment).
--
-- Duplicate detection: an order whose fingerprint (customer, SKUs and quantities, normalised
-- address) equals one of the customer's orders from the last p_duplicate_window that is not
-- cancelled is still placed and its stock taken, but on hold for order operations, and it
-- announces itself with 'order.held' instead of 'order.placed'. The events the call wrote are
-- returned, so that the caller can publish them as soon as it has the answer.
--
-- The hot stock row is unlocked when the commit record is written, not when it is on disk.
--
-- Measured (npm run bench, one hot SKU, 32 connections, durable commits): checkout reached 0.34 of
-- the raw conditional decrement. Its work under the row lock is small (the decrement, one ledger
-- row); what every other buyer of the SKU waited through was COMMIT's WAL flush, which a
-- synchronous commit performs while still holding the row lock. place_order commits
-- asynchronously and its caller, place_order_durably, waits for the flush right after, with the
-- lock already released:
-- 0.76 of the ceiling in the same run. Durability for the client is unchanged: no order is reported
-- (no 201, no event published) before its commit is on disk. What changes is that another
-- transaction may briefly see a commit that is not yet durable; after a crash both are lost
-- together, because WAL is replayed in order, so nothing acknowledged depends on anything lost.
CREATE OR REPLACE FUNCTION place_order(
  p_customer_id uuid,
  p_idempotency_key text,
  p_request_hash text,
  p_cart_id uuid,
  p_shipping_address jsonb,
  p_address_key text,
  p_duplicate_window interval,
  p_payment_method text,
  p_expected_total bigint
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
  v_fingerprint text;
  v_duplicate_of uuid;
  v_hold jsonb;
  v_status text := 'placed';
  v_payment_status text := CASE p_payment_method WHEN 'store_credit' THEN 'paid' ELSE 'pending' END;
  v_wallet wallets%ROWTYPE;
  v_order jsonb;
  v_order_data jsonb;
  v_row orders;
  v_line record;
  v_short jsonb := '[]'::jsonb;
  v_after integer;
  v_order_event jsonb;
  v_limited boolean;
  v_early boolean;
  v_repriced boolean;
  v_rule record;
  v_subtotal bigint;
  v_discount bigint := 0;
  v_promotion promotions%ROWTYPE;
  v_refusal jsonb;
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
      'order', v_existing.response, 'events', '[]'::jsonb);
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
         count(DISTINCT p.currency), sum(p.price_cents * i.quantity), min(p.currency),
         -- Same customer, same SKUs and quantities, same normalised address: the same order.
         encode(sha256(convert_to(concat_ws('|', p_customer_id,
           string_agg(p.sku || '*' || i.quantity, ',' ORDER BY p.sku), p_address_key), 'UTF8')), 'hex'),
         coalesce(bool_or(p.max_per_customer IS NOT NULL), false),
         coalesce(bool_or(p.available_from > now()), false),
         coalesce(bool_or(i.currency <> p.currency), false)
    INTO v_lines, v_currencies, v_total, v_currency, v_fingerprint, v_limited, v_early, v_repriced
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

  -- Prices that moved under the buyer: a product whose currency changed since its line was set,
  -- or (when the storefront says what it showed) a total other than the one the buyer saw.
  v_subtotal := v_total;
  IF NOT v_repriced AND v_cart.promotion_code IS NOT NULL THEN
    -- The cart's code: whatever refuses it without a lock is asked first (promotion_refusal),
    -- the fast answer once a code is used up; the use itself is taken below, just before the stock.
    SELECT * INTO v_promotion FROM promotions WHERE code = v_cart.promotion_code;
    v_refusal := promotion_refusal(v_promotion, v_subtotal, v_currency, p_customer_id, true);
    IF v_refusal IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = v_refusal->>'code',
        DETAIL = (v_refusal->'details')::text;
    END IF;
    v_discount := promotion_discount(v_promotion.kind, v_promotion.value, v_subtotal);
    v_total := v_subtotal - v_discount;
  END IF;
  IF v_repriced OR (p_expected_total IS NOT NULL AND p_expected_total <> v_total) THEN
    RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = 'PRICE_CHANGED',
      DETAIL = jsonb_build_object('cartId', p_cart_id, 'expectedTotalCents', p_expected_total,
        'totalCents', v_total, 'currency', v_currency)::text;
  END IF;

  -- A product whose sale has not started cannot be bought, even from a cart filled before.
  IF v_early THEN
    SELECT p.sku, p.available_from INTO v_rule
      FROM cart_items i JOIN products p ON p.sku = i.sku
     WHERE i.cart_id = p_cart_id AND p.available_from > now()
     ORDER BY p.sku LIMIT 1;
    RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = 'NOT_YET_AVAILABLE',
      DETAIL = jsonb_build_object('sku', v_rule.sku, 'availableFrom',
        to_char(v_rule.available_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text;
  END IF;

  -- A limit per customer is a count over the customer's orders, so two checkouts of the same
  -- customer (several carts at once) must not both count before either has written its order:
  -- from here to COMMIT the customer's checkouts of limited products take turns. Other customers,
  -- and carts without a limited product, never wait here.
  IF v_limited THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('purchase-limit:' || p_customer_id::text, 0));
    SELECT x.sku, x.max_per_customer, x.already, x.requested INTO v_rule
      FROM (SELECT p.sku, p.max_per_customer, i.quantity AS requested,
                   units_held(p_customer_id, p.sku) AS already
              FROM cart_items i JOIN products p ON p.sku = i.sku
             WHERE i.cart_id = p_cart_id AND p.max_per_customer IS NOT NULL) x
     WHERE x.already + x.requested > x.max_per_customer
     ORDER BY x.sku LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = 'PURCHASE_LIMIT',
        DETAIL = jsonb_build_object('sku', v_rule.sku, 'limit', v_rule.max_per_customer,
          'alreadyBought', v_rule.already, 'requested', v_rule.requested)::text;
    END IF;
  END IF;

  -- Store credit is held in the shop's currency: a cart priced in another cannot be paid from it.
  IF p_payment_method = 'store_credit' THEN
    SELECT * INTO v_wallet FROM wallets WHERE customer_id = p_customer_id;
    IF coalesce(v_wallet.currency, 'EUR') <> v_currency THEN
      RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = 'CURRENCY_MISMATCH',
        DETAIL = jsonb_build_object('cartId', p_cart_id, 'currency', v_currency,
                                    'walletCurrency', coalesce(v_wallet.currency, 'EUR'))::text;
    END IF;
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

  IF p_duplicate_window > interval '0' THEN
    -- Two checkouts of the same order at the same moment (a double click on two tabs) must not both
    -- miss each other: the second waits here for the first to commit, then sees it. The lock is per
    -- customer and fingerprint, so different buyers never wait on each other.
    PERFORM pg_advisory_xact_lock(hashtextextended(v_fingerprint, 0));
    SELECT o.id INTO v_duplicate_of
      FROM orders o
     WHERE o.customer_id = p_customer_id AND o.created_at > now() - p_duplicate_window
       AND o.fingerprint = v_fingerprint AND o.status <> 'cancelled'
     ORDER BY o.created_at DESC, o.id DESC
     LIMIT 1;
    IF v_duplicate_of IS NOT NULL THEN
      -- A card order waits for its payment first; the hold is on it all the same.
      v_status := CASE WHEN p_payment_method = 'card' THEN v_status ELSE 'on_hold' END;
      v_hold := jsonb_build_object('reason', 'SUSPECTED_DUPLICATE', 'duplicateOf', v_duplicate_of);
    END IF;
  END IF;

  UPDATE carts SET status = 'checked_out', customer_id = p_customer_id, updated_at = v_now
   WHERE id = p_cart_id;

  -- A card order takes its stock now and waits for the payment; the others are placed at once.
  -- An order that a discount made free has nothing to pay, whatever the method.
  IF v_total = 0 THEN
    v_payment_status := 'paid';
  ELSIF p_payment_method = 'card' THEN
    v_status := 'awaiting_payment';
  END IF;

  INSERT INTO orders (id, customer_id, cart_id, status, subtotal_cents, discount_cents,
                      promotion_code, total_cents, currency, shipping_address, fingerprint, hold,
                      created_at, updated_at, payment_method, payment_status, history)
  VALUES (v_order_id, p_customer_id, p_cart_id, v_status, v_subtotal, v_discount,
          v_cart.promotion_code, v_total, v_currency, p_shipping_address, v_fingerprint, v_hold,
          v_now, v_now, p_payment_method, v_payment_status,
          jsonb_build_array(jsonb_build_object('status', v_status,
            'at', to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))))
  RETURNING * INTO v_row;
  INSERT INTO order_lines (order_id, sku, name, quantity, unit_price_cents)
  SELECT v_order_id, l->>'sku', l->>'name', (l->>'quantity')::integer, (l->>'unitPriceCents')::bigint
    FROM jsonb_array_elements(v_lines) l;

  -- Store credit pays now, in this transaction: one conditional debit of the wallet, before the
  -- stock decrements, which stay last. Not enough: nothing of this order happened.
  IF p_payment_method = 'store_credit' AND v_total > 0 THEN
    IF apply_wallet_delta(p_customer_id, -v_total, 'order_payment', v_order_id, p_customer_id, NULL)
       IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'FS402', MESSAGE = 'INSUFFICIENT_FUNDS',
        DETAIL = jsonb_build_object('balanceCents',
          coalesce((SELECT balance_cents FROM wallets WHERE customer_id = p_customer_id), 0),
          'requiredCents', v_total)::text;
    END IF;
  END IF;

  -- From the row as inserted and the lines in hand: nothing is read back on the hot path.
  v_order := order_json(v_row, v_lines);
  v_order_data := order_event_data(v_row, v_lines);

  UPDATE idempotency_keys SET status_code = 201, response = v_order
   WHERE customer_id = p_customer_id AND key = p_idempotency_key;
  INSERT INTO outbox AS o (type, data) VALUES (
    CASE WHEN v_status = 'awaiting_payment' THEN 'order.awaiting_payment'
         WHEN v_hold IS NULL THEN 'order.placed' ELSE 'order.held' END,
    v_order_data
    || CASE WHEN v_hold IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('hold', v_hold) END)
  RETURNING outbox_event(o) INTO v_order_event;

  -- The hot stock rows stay locked until COMMIT returns. With a synchronous commit that includes
  -- the WAL flush, and every other buyer of the SKU waits through it. This transaction commits
  -- without waiting for the flush; place_order_durably then waits for it (flush_committed_wal)
  -- before the order is reported, so nothing is acknowledged that is not on disk, while the lock is released
  -- as soon as the commit record is written.
  PERFORM set_config('synchronous_commit', 'off', true);

  -- The code's use: one conditional increment, like stock (never past usage_limit, and only while
  -- the code is on), after the wallet and just before the stock rows, the order cancelOrder gives
  -- them back in. Its row lock makes the checkouts with this code take turns until they commit, so
  -- the customer's uses counted next include every other checkout of theirs that redeemed it; and,
  -- like the stock rows, it is taken as late as possible: the coupon's buyers queue on it only
  -- for the decrements and the commit (measured: taken before the order's JSON and outbox row, it
  -- cost 4x at 64 connections).
  IF v_cart.promotion_code IS NOT NULL THEN
    UPDATE promotions SET used = used + 1
     WHERE code = v_cart.promotion_code AND (usage_limit IS NULL OR used < usage_limit)
       AND active AND (starts_at IS NULL OR starts_at <= now()) AND (ends_at IS NULL OR ends_at > now())
    RETURNING * INTO v_promotion;
    IF NOT FOUND THEN
      SELECT * INTO v_promotion FROM promotions WHERE code = v_cart.promotion_code;
      v_refusal := coalesce(promotion_refusal(v_promotion, v_subtotal, v_currency, NULL, true),
        jsonb_build_object('code', 'PROMOTION_EXHAUSTED', 'details',
          jsonb_build_object('code', v_promotion.code, 'used', v_promotion.used,
                             'usageLimit', v_promotion.usage_limit)));
      RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = v_refusal->>'code',
        DETAIL = (v_refusal->'details')::text;
    END IF;
    -- This order is one of the uses counted.
    IF v_promotion.per_customer_limit IS NOT NULL THEN
      IF promotion_uses(p_customer_id, v_promotion.code) > v_promotion.per_customer_limit THEN
        RAISE EXCEPTION USING ERRCODE = 'FS409', MESSAGE = 'PROMOTION_ALREADY_USED',
          DETAIL = jsonb_build_object('code', v_promotion.code,
            'perCustomerLimit', v_promotion.per_customer_limit)::text;
      END IF;
    END IF;
  END IF;

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

  -- Still under the stock lock: look the events up only when a decrement crossed a threshold.
  RETURN jsonb_build_object('replayed', false, 'statusCode', 201, 'order', v_order,
    'events', CASE WHEN current_setting('flashstock.stock_events', true) = 'on'
                   THEN events_of_current_transaction()
                   ELSE jsonb_build_array(v_order_event) END);
END;
$$;
