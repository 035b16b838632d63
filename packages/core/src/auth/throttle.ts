/**
 * Limits on what abuse repeats (see 0009_auth_attempts.sql): failed logins per email and per
 * source address, password-reset requests per email, registrations per source address, each over
 * a sliding window. Over a limit the answer is 429 TOO_MANY_ATTEMPTS with the seconds until the
 * window lets one more through, and no password hash is spent.
 */
import type { Queryable } from "../db/types.ts";
import { DomainError } from "../error.ts";

export interface AttemptLimits {
  loginFailuresPerEmail: number;
  loginFailuresPerAddress: number;
  resetRequestsPerEmailPerHour: number;
  registrationsPerAddressPerHour: number;
}

export const defaultAttemptLimits: AttemptLimits = {
  loginFailuresPerEmail: 5,
  loginFailuresPerAddress: 20,
  resetRequestsPerEmailPerHour: 3,
  registrationsPerAddressPerHour: 50,
};

export type AttemptKind = "login_failure" | "reset_request" | "registration";

/** Who is attempting: the email it is for, and the caller's source address. */
export interface Attempter {
  email?: string;
  address?: string;
}

interface Rule {
  by: "email" | "address";
  limit: number;
  windowSeconds: number;
}

export const LOGIN_WINDOW_SECONDS = 15 * 60;

/**
 * Writes the attempt, then counts it with every other in its windows (its own included, and any
 * running at the same moment, since each is committed before it is counted). Over a rule's limit
 * the attempt is taken back and 429 TOO_MANY_ATTEMPTS is thrown. Returns the attempt's id.
 */
export async function takeAttempt(
  db: Queryable,
  kind: AttemptKind,
  who: Attempter,
  rules: readonly Rule[],
): Promise<number> {
  const email = who.email?.toLowerCase() ?? null;
  const address = who.address ?? null;
  const { rows } = await db.query<{ id: number }>(
    "INSERT INTO auth_attempts (kind, email, address) VALUES ($1, $2, $3) RETURNING id::int",
    [kind, email, address],
  );
  const id = (rows[0] as { id: number }).id;
  for (const rule of rules) {
    const value = rule.by === "email" ? email : address;
    if (value === null) continue;
    const counted = await db.query<{ n: number; retryAfter: number | null }>(
      `SELECT count(*)::int AS n,
              (SELECT ceil(extract(epoch FROM a.at + make_interval(secs => $4) - clock_timestamp()))::int
                 FROM auth_attempts a
                WHERE a.kind = $1 AND a.${rule.by} = $2 AND a.id <> $5
                  AND a.at > clock_timestamp() - make_interval(secs => $4)
                ORDER BY a.at DESC OFFSET $3 - 1 LIMIT 1) AS "retryAfter"
         FROM auth_attempts
        WHERE kind = $1 AND ${rule.by} = $2 AND at > clock_timestamp() - make_interval(secs => $4)`,
      [kind, value, rule.limit, rule.windowSeconds, id],
    );
    const { n, retryAfter } = counted.rows[0] as { n: number; retryAfter: number | null };
    if (n > rule.limit) {
      await db.query("DELETE FROM auth_attempts WHERE id = $1", [id]);
      throw new DomainError("TOO_MANY_ATTEMPTS", {
        retryAfterSeconds: Math.max(1, retryAfter ?? rule.windowSeconds),
      });
    }
  }
  return id;
}

/** A login that succeeded: the email's failures are forgotten (its own attempt included). */
export async function clearLoginFailures(db: Queryable, email: string): Promise<void> {
  await db.query("DELETE FROM auth_attempts WHERE kind = 'login_failure' AND email = $1", [
    email.toLowerCase(),
  ]);
}

export const loginRules = (limits: AttemptLimits): Rule[] => [
  { by: "email", limit: limits.loginFailuresPerEmail, windowSeconds: LOGIN_WINDOW_SECONDS },
  { by: "address", limit: limits.loginFailuresPerAddress, windowSeconds: LOGIN_WINDOW_SECONDS },
];

export const registrationRules = (limits: AttemptLimits): Rule[] => [
  { by: "address", limit: limits.registrationsPerAddressPerHour, windowSeconds: 3600 },
];

export const resetRules = (limits: AttemptLimits): Rule[] => [
  { by: "email", limit: limits.resetRequestsPerEmailPerHour, windowSeconds: 3600 },
];
