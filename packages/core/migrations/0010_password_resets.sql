-- Password-reset tokens: 256 random bits emailed as a link, stored only as their SHA-256, valid 30
-- minutes and used once. Using one sets the new password and ends every login of the account.
CREATE TABLE password_reset_tokens (
  token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
  user_id uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX password_reset_tokens_by_user ON password_reset_tokens (user_id);
