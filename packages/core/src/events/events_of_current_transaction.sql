-- The unpublished events written so far by the calling transaction, oldest first: the fast path
-- reads them just before COMMIT (events/outbox.ts), and place_order returns them.
CREATE OR REPLACE FUNCTION events_of_current_transaction() RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(outbox_event(o) ORDER BY o.seq), '[]'::jsonb)
    FROM outbox o
   WHERE o.published_at IS NULL AND o.txid = pg_current_xact_id()
$$;
