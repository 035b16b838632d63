/**
 * Password reset: a request emails a single-use link (when the account exists, and answers the
 * same when it does not); the link's token, with a new password, signs the owner in and ends every
 * other login of the account.
 */
import type { Db } from "../db/types.ts";
import { DomainError, serviceUnavailable } from "../error.ts";
import { passwordResetEmail } from "../notification/index.ts";
import type { Mailer } from "../notification/mailer.ts";
import { webLink, webPage } from "../notification/web-pages.ts";
import * as z from "../zod.ts";
import {
  type AttemptContext,
  Email,
  hashPassword,
  newSecretToken,
  Password,
  secretTokenDigest,
  type TokenConfig,
  toUser,
  type UserRow,
  userColumns,
} from "./index.ts";
import { assertStrongPassword } from "./password-strength.ts";
import { revokeLogins, type Session, startSession } from "./session.ts";
import { resetRules, takeAttempt } from "./throttle.ts";

export const RESET_TOKEN_VALID_MINUTES = 30;

export const PasswordResetRequest = z.strictObject({ email: Email });
export type PasswordResetRequest = z.infer<typeof PasswordResetRequest>;

export const PasswordResetConfirm = z.strictObject({
  token: z.string().check(z.minLength(1), z.maxLength(200)),
  password: Password,
});
export type PasswordResetConfirm = z.infer<typeof PasswordResetConfirm>;

/** What the request answers, whether or not the account exists. */
export const ResetAccepted = z.object({ message: z.string() });
const accepted = {
  message: "If an account has this email, a link to reset its password is on its way",
};

/**
 * Emails a reset link to the account's owner. Counted per email (RESET_REQUESTS_PER_EMAIL_PER_HOUR)
 * before anything is looked up, so an unknown email is throttled alike; a disabled account gets no
 * link. `webUrl` is the web UI whose reset page takes the token.
 */
export async function requestPasswordReset(
  db: Db,
  mailer: Mailer,
  input: PasswordResetRequest,
  context: AttemptContext & { webUrl: string },
): Promise<z.infer<typeof ResetAccepted>> {
  await takeAttempt(
    db,
    "reset_request",
    { email: input.email, address: context.address },
    resetRules(context.limits),
  );
  const { rows } = await db.query<UserRow>(
    `SELECT ${userColumns} FROM users WHERE lower(email) = lower($1) AND NOT disabled`,
    [input.email],
  );
  const user = rows[0];
  if (!user) return accepted;
  const token = newSecretToken();
  await db.query(
    `INSERT INTO password_reset_tokens (token_hash, user_id, expires_at)
     VALUES ($1, $2, now() + make_interval(mins => $3))`,
    [secretTokenDigest(token), user.id, RESET_TOKEN_VALID_MINUTES],
  );
  const link = webLink(context.webUrl, webPage.resetPassword(token));
  try {
    await mailer.send(passwordResetEmail(user, link, RESET_TOKEN_VALID_MINUTES));
  } catch (cause) {
    throw serviceUnavailable("The email could not be sent; ask again in a moment", { cause });
  }
  return accepted;
}

/**
 * Sets a new password with a reset token and signs its owner in (as login does). The token is used
 * once; a used, expired or unknown one, or one of a disabled account, is 400 INVALID_RESET_TOKEN.
 * A weak password is refused before the token is spent, so the same link can try a better one.
 * Every login of the account ends, including any an attacker opened with the old password.
 */
export async function confirmPasswordReset(
  db: Db,
  config: TokenConfig,
  input: PasswordResetConfirm,
): Promise<Session> {
  const digest = secretTokenDigest(input.token);
  const owner = await findResetTokenOwner(db, digest);
  await assertStrongPassword(input.password, owner);
  const passwordHash = await hashPassword(input.password);
  const user = await db.transaction(async (tx) => {
    // Spent only if still unused: of two confirmations racing with one token, one wins.
    const { rows } = await tx.query<UserRow>(
      `UPDATE password_reset_tokens t SET used_at = now()
         FROM users u
        WHERE t.token_hash = $1 AND ${usableToken}
       RETURNING ${ownerColumns}`,
      [digest],
    );
    const row = rows[0];
    if (!row) throw new DomainError("INVALID_RESET_TOKEN");
    await tx.query("UPDATE users SET password_hash = $2 WHERE id = $1", [row.id, passwordHash]);
    await revokeLogins(tx, "password_reset", { userId: row.id });
    return toUser(row);
  });
  return startSession(db, config, user);
}

const usableToken =
  "t.used_at IS NULL AND t.expires_at > now() AND u.id = t.user_id AND NOT u.disabled";
const ownerColumns = userColumns
  .split(", ")
  .map((c) => `u.${c}`)
  .join(", ");

/** The account a usable reset token belongs to, else 400 INVALID_RESET_TOKEN. */
async function findResetTokenOwner(db: Db, digest: Buffer): Promise<UserRow> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${ownerColumns} FROM password_reset_tokens t, users u
      WHERE t.token_hash = $1 AND ${usableToken}`,
    [digest],
  );
  const row = rows[0];
  if (!row) throw new DomainError("INVALID_RESET_TOKEN");
  return row;
}
