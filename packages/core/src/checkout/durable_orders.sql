-- placeOrder's acknowledgement when other checkouts of its process are in progress, shared by all
-- of them (alone, it calls place_order_durably, which flushes inside the same call). place_order
-- commits without waiting for the WAL flush, and flush_committed_wal() alone could not tell
-- whether the server that flushed is the one that committed: if Postgres crashed in between and
-- came back (the pool reconnects), the flush succeeds on the new server while the order went with
-- the old one's unwritten WAL.
--
-- So this returns, of the given orders, those that exist, from a statement that commits
-- synchronously. An order visible here was committed before this statement's snapshot, so its
-- commit record precedes this statement's own in the WAL of the server answering now; when the
-- call returns that server has flushed past both. An order it does not return was lost, and the
-- caller answers "retry with the same key" instead of confirming it.
CREATE OR REPLACE FUNCTION durable_orders(p_ids uuid[]) RETURNS SETOF uuid
LANGUAGE sql VOLATILE AS $$
  SELECT flush_committed_wal();
  SELECT id FROM orders WHERE id = ANY(p_ids);
$$;
