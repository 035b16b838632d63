import {
  createHash,
  createHmac,
  randomBytes,
  scrypt as scryptCallback,
  timingSafeEqual,
} from "node:crypto";
import { promisify } from "node:util";
import { SignJWT } from "jose";
import { isSqlState, type Queryable } from "../db/index.ts";
import { DomainError, forbidden } from "../error.ts";
import { SafeName } from "../text.ts";
import * as z from "../zod.ts";
import { assertStrongPassword } from "./password-strength.ts";
import {
  type AttemptLimits,
  clearLoginFailures,
  defaultAttemptLimits,
  loginRules,
  registrationRules,
  takeAttempt,
} from "./throttle.ts";

export const Role = z.enum(["customer", "stock_manager", "ops", "admin"]);
export type Role = z.infer<typeof Role>;
export const staffRoles: readonly Role[] = ["stock_manager", "ops", "admin"];

export const Email = z.pipe(
  z.string().check(z.trim(), z.maxLength(254)),
  z.email({ message: "must be an email address" }),
);
export const Password = z.string().check(z.minLength(8), z.maxLength(256));
export const Name = SafeName(200);

export const RegisterInput = z.strictObject({ email: Email, password: Password, name: Name });
export type RegisterInput = z.infer<typeof RegisterInput>;
export const LoginInput = z.strictObject({
  email: Email,
  password: z.string().check(z.minLength(1), z.maxLength(256)),
});
export type LoginInput = z.infer<typeof LoginInput>;
export const StaffInput = z.extend(RegisterInput, {
  role: z.enum(["stock_manager", "ops", "admin"]),
});
export type StaffInput = z.infer<typeof StaffInput>;

export const User = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: Role,
  createdAt: z.iso.datetime(),
});
export type User = z.infer<typeof User>;

/** Who is calling: the verified claims of a bearer token. */
export interface Principal {
  userId: string;
  role: Role;
  /** The login the token was issued for (absent from tokens made outside a login, as in tests). */
  loginId?: string;
}

export const isStaff = (p: Principal | undefined) => !!p && staffRoles.includes(p.role);

export function requireRole(principal: Principal, roles: readonly Role[]): void {
  if (!roles.includes(principal.role)) throw forbidden();
}

// scrypt is memory-hard. N=2^15, r=8, p=3 is one of OWASP's recommended settings (32 MiB each).
const scryptParams = { N: 2 ** 15, r: 8, p: 3, maxmem: 64 * 1024 * 1024 };
const scrypt = promisify(scryptCallback) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: typeof scryptParams,
) => Promise<Buffer>;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, scryptParams);
  const { N, r, p } = scryptParams;
  return `scrypt$${N}$${r}$${p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const actual = await scrypt(password, Buffer.from(salt, "base64"), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: scryptParams.maxmem,
  });
  return timingSafeEqual(actual, expected);
}

/**
 * A token a client holds and the database keeps only as its SHA-256 (refresh tokens, reset links):
 * 256 random bits, so a fast hash is enough, and a leaked table gives nobody a usable token.
 */
export const newSecretToken = () => randomBytes(32).toString("base64url");
export const secretTokenDigest = (token: string) =>
  createHash("sha256").update(token, "utf8").digest();

// Hashed once so that a login for an unknown email costs as much as one with a wrong password.
let decoyHash: Promise<string> | undefined;

export interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  password_hash: string;
  disabled: boolean;
  created_at: Date;
}

export const userColumns = "id, email, name, role, password_hash, disabled, created_at";

export const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  name: r.name,
  role: r.role,
  createdAt: r.created_at.toISOString(),
});

export async function createUser(
  db: Queryable,
  input: RegisterInput & { role: Role },
): Promise<User> {
  await assertStrongPassword(input.password, input);
  const passwordHash = await hashPassword(input.password);
  try {
    const { rows } = await db.query<UserRow>(
      `INSERT INTO users (email, password_hash, name, role) VALUES ($1, $2, $3, $4)
       RETURNING ${userColumns}`,
      [input.email, passwordHash, input.name, input.role],
    );
    return toUser(rows[0] as UserRow);
  } catch (err) {
    if (isSqlState(err, "23505")) {
      throw new DomainError("EMAIL_TAKEN");
    }
    throw err;
  }
}

/** Where a sign-in comes from, and the limits it is held to (auth/throttle.ts). */
export interface AttemptContext {
  address?: string;
  limits: AttemptLimits;
}

/** A new customer; registrations are counted per source address. */
export async function register(
  db: Queryable,
  input: RegisterInput,
  context: AttemptContext = { limits: defaultAttemptLimits },
): Promise<User> {
  await takeAttempt(
    db,
    "registration",
    { address: context.address },
    registrationRules(context.limits),
  );
  return createUser(db, { ...input, role: "customer" });
}

/**
 * Signs in. The attempt is counted as a failure before the password is checked (so parallel
 * guesses count each other) and forgotten when it succeeds; over a limit the answer is 429 with no
 * hash spent. A disabled account answers exactly as a wrong password does, after the same work.
 */
export async function login(
  db: Queryable,
  input: LoginInput,
  context: AttemptContext = { limits: defaultAttemptLimits },
): Promise<User> {
  await takeAttempt(
    db,
    "login_failure",
    { email: input.email, address: context.address },
    loginRules(context.limits),
  );
  const user = await checkPassword(db, input);
  await clearLoginFailures(db, input.email);
  return user;
}

async function checkPassword(db: Queryable, input: LoginInput): Promise<User> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${userColumns} FROM users WHERE lower(email) = lower($1)`,
    [input.email],
  );
  const row = rows[0];
  decoyHash ??= hashPassword(randomBytes(16).toString("hex"));
  const ok = await verifyPassword(input.password, row?.password_hash ?? (await decoyHash));
  if (!row || !ok || row.disabled) {
    throw new DomainError("INVALID_CREDENTIALS");
  }
  return toUser(row);
}

/** Creates the given admin unless a user with that email exists; used by the local runtime at start. */
export async function ensureAdmin(
  db: Queryable,
  input: { email: string; password: string; name?: string },
): Promise<void> {
  const { rows } = await db.query("SELECT 1 FROM users WHERE lower(email) = lower($1)", [
    input.email,
  ]);
  if (rows.length > 0) return;
  try {
    await createUser(db, {
      email: input.email,
      password: input.password,
      name: input.name ?? "Admin",
      role: "admin",
    });
  } catch (err) {
    if (!(err instanceof DomainError && err.code === "EMAIL_TAKEN")) throw err;
  }
}

export interface TokenConfig {
  secret: string;
  ttlSeconds?: number;
}

/** An access token's lifetime unless configured (ACCESS_TOKEN_TTL_SECONDS): 15 minutes. */
export const ACCESS_TOKEN_TTL_SECONDS = 900;

const issuer = "flashstock";
const audience = "flashstock-api";

/** An access token: the user's id and role, and the login it belongs to when there is one. */
export async function issueToken(
  config: TokenConfig,
  user: Pick<User, "id" | "role">,
  loginId?: string,
): Promise<string> {
  return new SignJWT(loginId ? { role: user.role, sid: loginId } : { role: user.role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(user.id)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${config.ttlSeconds ?? ACCESS_TOKEN_TTL_SECONDS}s`)
    .sign(new TextEncoder().encode(config.secret));
}

const Claims = z.object({
  sub: z.uuid(),
  role: Role,
  sid: z.optional(z.uuid()),
  iss: z.literal(issuer),
  aud: z.union([
    z.literal(audience),
    z.array(z.string()).check(z.refine((a) => a.includes(audience))),
  ]),
  exp: z.number(),
  iat: z.number(),
  nbf: z.optional(z.number()),
});
const Header = z.looseObject({ alg: z.literal("HS256"), typ: z.optional(z.literal("JWT")) });

const fromBase64Url = (part: string) => {
  const bytes = Buffer.from(part, "base64url");
  // Buffer skips characters that are not base64url; a token must be exactly what was signed.
  if (bytes.toString("base64url") !== part) throw new Error("not base64url");
  return bytes;
};

/**
 * Verifies a token that issueToken (jose) signed: HS256 only, with node:crypto's synchronous HMAC.
 * jose verifies through WebCrypto, a thread-pool job per call, which was 14% of the local runtime's
 * CPU in a flash sale and 14 KB of every handler bundle; this is the same check, with the header's
 * algorithm pinned, a constant-time comparison, and the claims checked by a schema.
 */
export async function verifyToken(config: TokenConfig, token: string): Promise<Principal> {
  try {
    const [header, payload, signature, ...rest] = token.split(".");
    if (header === undefined || payload === undefined || signature === undefined || rest.length) {
      throw new Error("not a compact JWS");
    }
    const expected = createHmac("sha256", config.secret).update(`${header}.${payload}`).digest();
    const given = fromBase64Url(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new Error("bad signature");
    }
    Header.parse(JSON.parse(fromBase64Url(header).toString("utf8")));
    const claims = Claims.parse(JSON.parse(fromBase64Url(payload).toString("utf8")));
    const now = Math.floor(Date.now() / 1000);
    if (claims.exp <= now || (claims.nbf !== undefined && claims.nbf > now)) {
      throw new Error("expired or not yet valid");
    }
    return claims.sid
      ? { userId: claims.sub, role: claims.role, loginId: claims.sid }
      : { userId: claims.sub, role: claims.role };
  } catch {
    throw unauthenticated("The bearer token is invalid or expired");
  }
}

export const unauthenticated = (message?: string) =>
  new DomainError("UNAUTHENTICATED", undefined, { message });
