-- Storefront core: users, catalog, stock and its ledger, carts, orders, idempotency keys, outbox.
--
-- Migrations hold tables, indexes, constraints and data moves, and DROP FUNCTION where a
-- signature changes. Functions live beside their domain (packages/core/src/<domain>/<name>.sql) and
-- are applied after the migrations, whenever their text changes (see core/src/db/migrate.ts);
-- a migration never calls one.

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
