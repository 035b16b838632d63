/**
 * Sessions: a login is a row of `logins`; it is kept alive by refresh tokens, each used once and
 * replaced, and ended by logout, a password change or reset, or a staff change. Access tokens are
 * short-lived and verified without a database read, so a revoked login keeps working only until
 * its last access token expires (ACCESS_TOKEN_TTL_SECONDS).
 */
import type { Db, Queryable } from "../db/types.ts";
import { DomainError } from "../error.ts";
import * as z from "../zod.ts";
import {
  ACCESS_TOKEN_TTL_SECONDS,
  hashPassword,
  issueToken,
  Name,
  newSecretToken,
  Password,
  type Principal,
  secretTokenDigest,
  type TokenConfig,
  toUser,
  User,
  type UserRow,
  unauthenticated,
  userColumns,
  verifyPassword,
} from "./index.ts";
import { assertStrongPassword } from "./password-strength.ts";

/** How long a refresh token may wait to be used: a login left alone this long ends. */
export const REFRESH_TOKEN_TTL_DAYS = 30;

/** What a new login answers: the user, an access token, and the refresh token that renews it. */
export const Session = z.object({
  user: User,
  token: z.string(),
  refreshToken: z.string(),
  /** The access token's lifetime. */
  expiresInSeconds: z.int(),
});
export type Session = z.infer<typeof Session>;

/** What a refresh answers: a new access token and the next refresh token. */
export const TokenPair = z.object({
  token: z.string(),
  refreshToken: z.string(),
  expiresInSeconds: z.int(),
});
export type TokenPair = z.infer<typeof TokenPair>;

// Opaque to clients: a prefix that says what it is, and 256 random bits.
const RefreshToken = z.string().check(z.minLength(1), z.maxLength(200));
export const RefreshInput = z.strictObject({ refreshToken: RefreshToken });
export type RefreshInput = z.infer<typeof RefreshInput>;

export type RevokeReason =
  | "logout"
  | "refresh_token_reused"
  | "password_changed"
  | "password_reset"
  | "staff_changed";

async function storeRefreshToken(db: Queryable, loginId: string): Promise<string> {
  const token = `rt_${newSecretToken()}`;
  await db.query(
    `INSERT INTO refresh_tokens (token_hash, login_id, expires_at)
     VALUES ($1, $2, now() + make_interval(days => $3))`,
    [secretTokenDigest(token), loginId, REFRESH_TOKEN_TTL_DAYS],
  );
  return token;
}

const lifetime = (config: TokenConfig) => config.ttlSeconds ?? ACCESS_TOKEN_TTL_SECONDS;

/** Opens a login for the user: register, login and password reset answer this. */
export async function startSession(db: Db, config: TokenConfig, user: User): Promise<Session> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string }>(
      "INSERT INTO logins (user_id) VALUES ($1) RETURNING id",
      [user.id],
    );
    const loginId = (rows[0] as { id: string }).id;
    return {
      user,
      token: await issueToken(config, user, loginId),
      refreshToken: await storeRefreshToken(tx, loginId),
      expiresInSeconds: lifetime(config),
    };
  });
}

interface RefreshRow {
  login_id: string;
  expired: boolean;
  used: boolean;
  revoked: boolean;
  user_id: string;
}

/**
 * Exchanges a refresh token for a new access token and the next refresh token, with the user's
 * role as it is now (a demoted user's next token carries the new role). The token's login is
 * locked, so two refreshes with one token take turns: the second finds it used. A used token is
 * a stolen or replayed one: its whole login is revoked (committed) and the answer is 401
 * REFRESH_TOKEN_REUSED. Unknown, expired or revoked, or a disabled user: 401 UNAUTHENTICATED.
 */
export async function refreshSession(
  db: Db,
  config: TokenConfig,
  input: RefreshInput,
): Promise<TokenPair> {
  const tokenHash = secretTokenDigest(input.refreshToken);
  const outcome = await db.transaction(async (tx) => {
    const { rows } = await tx.query<RefreshRow>(
      `SELECT t.login_id, t.expires_at <= now() AS expired, t.used_at IS NOT NULL AS used,
              l.revoked_at IS NOT NULL AS revoked, l.user_id
         FROM refresh_tokens t JOIN logins l ON l.id = t.login_id
        WHERE t.token_hash = $1
          FOR UPDATE OF t, l`,
      [tokenHash],
    );
    const found = rows[0];
    if (!found) return { kind: "refused" as const };
    if (found.used) {
      if (!found.revoked)
        await revokeLogins(tx, "refresh_token_reused", { loginId: found.login_id });
      return { kind: "reused" as const };
    }
    if (found.expired || found.revoked) return { kind: "refused" as const };
    const user = await tx.query<UserRow>(`SELECT ${userColumns} FROM users WHERE id = $1`, [
      found.user_id,
    ]);
    const row = user.rows[0];
    if (!row || row.disabled) return { kind: "refused" as const };
    await tx.query("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1", [tokenHash]);
    return {
      kind: "renewed" as const,
      pair: {
        token: await issueToken(config, toUser(row), found.login_id),
        refreshToken: await storeRefreshToken(tx, found.login_id),
        expiresInSeconds: lifetime(config),
      },
    };
  });
  if (outcome.kind === "reused") throw new DomainError("REFRESH_TOKEN_REUSED");
  if (outcome.kind === "refused") throw unauthenticated("The refresh token is invalid or expired");
  return outcome.pair;
}

/** Ends the login of a refresh token (204 whatever the token: logging out twice is no error). */
export async function endSession(db: Queryable, input: RefreshInput): Promise<void> {
  await db.query(
    `UPDATE logins SET revoked_at = now(), revoked_reason = 'logout'
      WHERE revoked_at IS NULL
        AND id = (SELECT login_id FROM refresh_tokens WHERE token_hash = $1)`,
    [secretTokenDigest(input.refreshToken)],
  );
}

/**
 * Revokes logins: one (`loginId`), or every login of a user (`userId`), but for `except` (the
 * caller's own, when they change their password). Returns how many were revoked.
 */
export async function revokeLogins(
  db: Queryable,
  reason: RevokeReason,
  which: { loginId: string } | { userId: string; except?: string },
): Promise<number> {
  const { rowCount } =
    "loginId" in which
      ? await db.query(
          `UPDATE logins SET revoked_at = now(), revoked_reason = $2
            WHERE id = $1 AND revoked_at IS NULL`,
          [which.loginId, reason],
        )
      : await db.query(
          `UPDATE logins SET revoked_at = now(), revoked_reason = $2
            WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $3`,
          [which.userId, reason, which.except ?? null],
        );
  return rowCount ?? 0;
}

/** The caller's account. */
export async function getMe(db: Queryable, principal: Principal): Promise<User> {
  const { rows } = await db.query<UserRow>(`SELECT ${userColumns} FROM users WHERE id = $1`, [
    principal.userId,
  ]);
  const row = rows[0];
  // A token outliving its account is no longer anyone's.
  if (!row) throw unauthenticated();
  return toUser(row);
}

export const UpdateMeInput = z.strictObject({ name: Name });
export type UpdateMeInput = z.infer<typeof UpdateMeInput>;

export async function updateMe(
  db: Queryable,
  principal: Principal,
  input: UpdateMeInput,
): Promise<User> {
  const { rows } = await db.query<UserRow>(
    `UPDATE users SET name = $2 WHERE id = $1 RETURNING ${userColumns}`,
    [principal.userId, input.name],
  );
  const row = rows[0];
  if (!row) throw unauthenticated();
  return toUser(row);
}

export const ChangePasswordInput = z.strictObject({
  currentPassword: z.string().check(z.minLength(1), z.maxLength(256)),
  newPassword: Password,
});
export type ChangePasswordInput = z.infer<typeof ChangePasswordInput>;

/**
 * Changes the caller's password, given the current one (else 401 INVALID_CREDENTIALS), and
 * revokes every other login of theirs: a session someone else opened with the old password ends.
 */
export async function changePassword(
  db: Db,
  principal: Principal,
  input: ChangePasswordInput,
): Promise<void> {
  const { rows } = await db.query<UserRow>(`SELECT ${userColumns} FROM users WHERE id = $1`, [
    principal.userId,
  ]);
  const row = rows[0];
  if (!row) throw unauthenticated();
  if (!(await verifyPassword(input.currentPassword, row.password_hash))) {
    throw new DomainError("INVALID_CREDENTIALS");
  }
  await assertStrongPassword(input.newPassword, row);
  const passwordHash = await hashPassword(input.newPassword);
  await db.transaction(async (tx) => {
    await tx.query("UPDATE users SET password_hash = $2 WHERE id = $1", [
      principal.userId,
      passwordHash,
    ]);
    await revokeLogins(tx, "password_changed", {
      userId: principal.userId,
      except: principal.loginId,
    });
  });
}
