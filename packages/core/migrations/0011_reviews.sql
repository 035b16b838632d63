-- Product reviews: one per customer and product, by a customer with a delivered order of it.
-- created_at is kept to the millisecond the API prints, so that a page's cursor is exact.
CREATE TABLE reviews (
  id uuid PRIMARY KEY,
  sku text NOT NULL REFERENCES products (sku),
  customer_id uuid NOT NULL REFERENCES users (id),
  rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  title text,
  body text,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  UNIQUE (sku, customer_id)
);
CREATE INDEX reviews_by_sku_newest ON reviews (sku, created_at DESC, id DESC);
