-- Sessions that can be revoked. A login (register, login, password reset) is one row of `logins`;
-- its refresh tokens are opaque random strings stored only as their SHA-256, each used once:
-- refreshing marks it used and issues the next. A used one presented again means it was stolen
-- (or replayed), and its whole login is revoked. Access tokens stay short-lived JWTs verified
-- without a database read; they carry their login's id (`sid`) so that "every other login" can be
-- told apart from the caller's.
ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;

CREATE TABLE logins (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  revoked_reason text CHECK (revoked_reason IN
    ('logout', 'refresh_token_reused', 'password_changed', 'password_reset', 'staff_changed')),
  CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX logins_active_by_user ON logins (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
  token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
  login_id uuid NOT NULL REFERENCES logins (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX refresh_tokens_by_login ON refresh_tokens (login_id);
