-- Waits until every commit written so far is on disk (and, where there is synchronous
-- replication, acknowledged). A transactional logical message is a WAL record of this transaction
-- (an xid alone writes none, and PostgreSQL skips the flush of a transaction that wrote no WAL), so
-- the synchronous commit that follows flushes the WAL up to a record written after all of them.
-- Any role may call pg_logical_emit_message, on any wal_level.
CREATE OR REPLACE FUNCTION flush_committed_wal() RETURNS void
LANGUAGE sql VOLATILE AS $$
  SELECT FROM set_config('synchronous_commit', 'on', true),
              pg_logical_emit_message(true, 'flashstock', 'flush')
$$;
