-- Attempts that abuse would repeat: failed logins (by email and by source address), password-reset
-- requests (by email) and registrations (by source address). Counted over a sliding window; an
-- attempt is written before it is judged, so that parallel attempts count each other and the limit
-- holds however many arrive at once. A login that succeeds deletes its email's failures.
CREATE TABLE auth_attempts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('login_failure', 'reset_request', 'registration')),
  -- Lower case; NULL where the kind is counted by address only.
  email text,
  address text,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX auth_attempts_by_email ON auth_attempts (kind, email, at) WHERE email IS NOT NULL;
CREATE INDEX auth_attempts_by_address ON auth_attempts (kind, address, at) WHERE address IS NOT NULL;
