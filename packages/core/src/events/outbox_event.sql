-- One JSON shape for an event, whoever reads it (the fast path, the relay, a test): {id, type,
-- occurredAt, data}, with occurredAt in milliseconds and UTC like every other instant the API prints.
CREATE OR REPLACE FUNCTION outbox_event(o outbox) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', o.id, 'type', o.type,
    'occurredAt', to_char(o.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'data', o.data)
$$;
