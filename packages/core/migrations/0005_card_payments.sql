-- Card payments through a provider (Stripe): its webhook events, each applied once, and the refund
-- asked of it, once per order.

-- One row per provider event that reached us, written in the transaction of its effect: a
-- redelivered or replayed event finds its row and changes nothing.
CREATE TABLE payment_events (
  id text PRIMARY KEY,
  type text NOT NULL,
  order_id uuid REFERENCES orders (id),
  -- What it did: applied, refund (money for an order that will not ship), ignored (nothing to do).
  outcome text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_events_order_idx ON payment_events (order_id) WHERE order_id IS NOT NULL;

ALTER TABLE orders
  -- The provider's refund, once it was asked for: it is asked for at most once per order.
  ADD COLUMN refund_reference text,
  ADD COLUMN refund_requested_at timestamptz;

-- A provider payment belongs to one order.
CREATE UNIQUE INDEX orders_payment_reference_idx ON orders (payment_reference)
  WHERE payment_reference IS NOT NULL;

-- order_json and order_event_data take the lines when their caller has them (checkout's hot path);
-- the one-argument versions go, or every call of them would be ambiguous.
DROP FUNCTION IF EXISTS order_json(orders);
DROP FUNCTION IF EXISTS order_event_data(orders);
