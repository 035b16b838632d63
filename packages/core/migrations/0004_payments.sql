-- Money and delivery: how an order is paid, where it is, every status it has had; store credit.

-- The lifecycle: a card order waits for its payment; a confirmed order is shipped, then delivered.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN
  ('awaiting_payment', 'placed', 'on_hold', 'confirmed', 'shipped', 'delivered', 'cancelled'));

ALTER TABLE orders
  ADD COLUMN payment_method text NOT NULL DEFAULT 'cash_on_delivery'
    CHECK (payment_method IN ('store_credit', 'cash_on_delivery', 'card')),
  ADD COLUMN payment_status text NOT NULL DEFAULT 'pending'
    CHECK (payment_status IN ('pending', 'paid', 'refund_pending', 'refunded', 'cancelled')),
  ADD COLUMN refunded_cents bigint NOT NULL DEFAULT 0,
  -- The card payment at the provider (a Stripe PaymentIntent) and the secret its page needs.
  ADD COLUMN payment_reference text,
  ADD COLUMN client_secret text,
  ADD COLUMN carrier text,
  ADD COLUMN tracking_number text,
  ADD COLUMN tracking_url text,
  ADD COLUMN shipped_at timestamptz,
  ADD COLUMN delivered_at timestamptz,
  ADD COLUMN cancel_reason text,
  -- Every status the order has had, oldest first: [{status, at}].
  ADD COLUMN history jsonb NOT NULL DEFAULT '[]',
  ADD CONSTRAINT orders_refund_within_total CHECK (refunded_cents BETWEEN 0 AND total_cents);
CREATE INDEX orders_awaiting_payment_idx ON orders (created_at) WHERE status = 'awaiting_payment';

-- Orders from before payments were taken at the door; a cancelled one was never paid. Their
-- history: how they started, the release of a held one, and the status they have now.
UPDATE orders SET payment_status = 'cancelled' WHERE status = 'cancelled';
UPDATE orders o SET history = h.steps || CASE WHEN h.steps->-1->>'status' = o.status THEN '[]'::jsonb
    ELSE jsonb_build_array(jsonb_build_object('status', o.status,
      'at', to_char(o.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))) END
  FROM (SELECT id, jsonb_build_array(jsonb_build_object(
               'status', CASE WHEN hold IS NULL THEN 'placed' ELSE 'on_hold' END,
               'at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
             || CASE WHEN hold ? 'releasedAt'
                     THEN jsonb_build_array(jsonb_build_object('status', 'placed', 'at', hold->>'releasedAt'))
                     ELSE '[]'::jsonb END AS steps
          FROM orders) h
 WHERE h.id = o.id;

-- Store credit: one wallet per customer, in the shop's currency, and its ledger. The balance only
-- changes through apply_wallet_delta, a conditional update like stock: it can never go below 0.
CREATE TABLE wallets (
  customer_id uuid PRIMARY KEY REFERENCES users (id),
  currency char(3) NOT NULL DEFAULT 'EUR',
  balance_cents bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT wallet_balance_not_negative CHECK (balance_cents >= 0)
);

CREATE TABLE wallet_transactions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id uuid NOT NULL REFERENCES wallets (customer_id),
  amount_cents bigint NOT NULL CHECK (amount_cents <> 0),
  reason text NOT NULL CHECK (reason IN ('top_up', 'goodwill', 'correction', 'order_payment', 'refund')),
  order_id uuid REFERENCES orders (id),
  note text,
  actor_id uuid,
  balance_after_cents bigint NOT NULL CHECK (balance_after_cents >= 0),
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wallet_transactions_customer_idx ON wallet_transactions (customer_id, id DESC);
-- An order is paid from a wallet at most once, and refunded to it at most once.
CREATE UNIQUE INDEX wallet_transactions_one_payment_per_order
  ON wallet_transactions (order_id) WHERE reason = 'order_payment';
CREATE UNIQUE INDEX wallet_transactions_one_refund_per_order
  ON wallet_transactions (order_id) WHERE reason = 'refund';

-- place_order gained p_payment_method (checkout/place_order.sql).
DROP FUNCTION IF EXISTS place_order(uuid, text, text, uuid, jsonb, text, interval);
