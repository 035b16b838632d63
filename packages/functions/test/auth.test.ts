import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import { useDatabase } from "@flashstock/testing/database";
import { createUser, PASSWORD } from "@flashstock/testing/fixtures";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";

const t = useDatabase();

const uniqueEmail = (prefix = "ann") => `${prefix}-${randomUUID()}@example.com`;

const register = (body: unknown) => call("POST", "/auth/register", { body });

const userCount = async (email: string) =>
  (
    await t.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM users WHERE lower(email) = lower($1)",
      [email],
    )
  ).rows[0]?.n;

const isoDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

/** A token with the API's issuer and audience, signed with any secret and any timing. */
async function signToken(options: {
  sub?: string;
  role?: string;
  secret?: string;
  issuedAt?: number;
  expiresAt?: number;
  issuer?: string;
  audience?: string;
  alg?: "HS256" | "HS384" | "HS512";
  notBefore?: number;
}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ role: options.role ?? "admin" });
  if (options.notBefore !== undefined) jwt.setNotBefore(options.notBefore);
  return jwt
    .setProtectedHeader({ alg: options.alg ?? "HS256", typ: "JWT" })
    .setSubject(options.sub ?? randomUUID())
    .setIssuer(options.issuer ?? "flashstock")
    .setAudience(options.audience ?? "flashstock-api")
    .setIssuedAt(options.issuedAt ?? now)
    .setExpirationTime(options.expiresAt ?? now + 3600)
    .sign(new TextEncoder().encode(options.secret ?? (process.env.JWT_SECRET as string)));
}

/** A staff-only route that has no side effect: the inventory list. */
const protectedCall = (token?: string, headers?: Record<string, string>) =>
  call("GET", "/inventory", { ...(token ? { token } : {}), ...(headers ? { headers } : {}) });

const expectError = (
  response: { status: number; body: { error?: { code?: string; message?: string } } },
  status: number,
  code: string,
) => {
  expect(response.status).toBe(status);
  expect(response.body.error?.code).toBe(code);
  expect(typeof response.body.error?.message).toBe("string");
};

describe("POST /auth/register", () => {
  it("creates a customer and returns 201 with the user, a working token and a refresh token", async () => {
    // Prepare
    const email = uniqueEmail();

    // Act
    const response = await register({ email, password: "s3cret-enough", name: "Ann" });

    // Assess
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      user: {
        id: expect.any(String),
        email,
        name: "Ann",
        role: "customer",
        createdAt: isoDate,
      },
      token: expect.any(String),
      refreshToken: expect.stringMatching(/^rt_[\w-]{43}$/),
      expiresInSeconds: 900,
    });
    expect(await userCount(email)).toBe(1);
    const { rows } = await t.db.query<{ password_hash: string }>(
      "SELECT password_hash FROM users WHERE email = $1",
      [email],
    );
    expect(rows[0]?.password_hash).toMatch(/^scrypt\$/);
    expect(rows[0]?.password_hash).not.toContain("s3cret-enough");
    // The token is accepted on a route that needs one: a customer's own cart belongs to them.
    const cart = await call("POST", "/carts", { token: response.body.token });
    expect(cart.status).toBe(201);
    const { rows: carts } = await t.db.query<{ customer_id: string }>(
      "SELECT customer_id FROM carts WHERE id = $1",
      [cart.body.id],
    );
    expect(carts[0]?.customer_id).toBe(response.body.user.id);
  });

  it("rejects a second account with the same email as 409 EMAIL_TAKEN", async () => {
    // Prepare
    const email = uniqueEmail();
    expect((await register({ email, password: "first quiet meadow", name: "First" })).status).toBe(
      201,
    );

    // Act
    const response = await register({ email, password: "second quiet meadow", name: "Second" });

    // Assess
    expectError(response, 409, "EMAIL_TAKEN");
    expect(await userCount(email)).toBe(1);
  });

  it("treats emails differing only in case as the same account (409 EMAIL_TAKEN)", async () => {
    // Prepare
    const email = uniqueEmail("Mixed.Case");
    expect((await register({ email, password: "first quiet meadow", name: "First" })).status).toBe(
      201,
    );

    // Act
    const upper = await register({
      email: email.toUpperCase(),
      password: "second quiet meadow",
      name: "X",
    });
    const lower = await register({
      email: email.toLowerCase(),
      password: "third quiet meadow",
      name: "Y",
    });

    // Assess
    expectError(upper, 409, "EMAIL_TAKEN");
    expectError(lower, 409, "EMAIL_TAKEN");
    expect(await userCount(email)).toBe(1);
  });

  it("lets only one of two simultaneous registrations of one email succeed", async () => {
    // Prepare
    const email = uniqueEmail();

    // Act
    const results = await Promise.all([
      register({ email, password: "first quiet meadow", name: "A" }),
      register({ email: email.toUpperCase(), password: "second quiet meadow", name: "B" }),
    ]);

    // Assess
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.status === 409)?.body.error.code).toBe("EMAIL_TAKEN");
    expect(await userCount(email)).toBe(1);
  });

  it.each([
    [
      "a malformed email",
      { email: "not-an-email", password: "amber tunnel frost", name: "Ann" },
      "email",
    ],
    [
      "a password under 8 characters",
      { email: "x@example.com", password: "short", name: "A" },
      "password",
    ],
    [
      "a blank name",
      { email: "x@example.com", password: "amber tunnel frost", name: "   " },
      "name",
    ],
    ["a missing name", { email: "x@example.com", password: "amber tunnel frost" }, "name"],
    ["a number as password", { email: "x@example.com", password: 12345678, name: "A" }, "password"],
    [
      "an unknown field",
      { email: "x@example.com", password: "amber tunnel frost", name: "Ann", role: "admin" },
      "",
    ],
  ])("rejects %s with 400 VALIDATION_FAILED and creates no user", async (_, body, path) => {
    // Act
    const response = await register(body);

    // Assess
    expectError(response, 400, "VALIDATION_FAILED");
    expect(response.body.error.details.in).toBe("body");
    expect(response.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    const email = (body as { email: string }).email;
    expect(await userCount(email)).toBe(0);
  });

  it("cannot be used to register a staff role", async () => {
    // Act: role is not a field of registration at all.
    const email = uniqueEmail();
    const response = await register({
      email,
      password: "amber tunnel frost",
      name: "Eve",
      role: "admin",
    });

    // Assess
    expectError(response, 400, "VALIDATION_FAILED");
    expect(await userCount(email)).toBe(0);
  });

  it("rejects malformed JSON and a missing body with 400, not 500", async () => {
    // Act
    const malformed = await call("POST", "/auth/register", {
      rawBody: '{"email": "x@example.com",',
      headers: { "content-type": "application/json" },
    });
    const missing = await call("POST", "/auth/register");

    // Assess
    expectError(malformed, 400, "MALFORMED_JSON");
    expectError(missing, 400, "VALIDATION_FAILED");
  });
});

describe("POST /auth/login", () => {
  it("returns 200 with the user, a token that works and a refresh token", async () => {
    // Prepare
    const email = uniqueEmail();
    const registered = await register({ email, password: "first quiet meadow", name: "Ann" });
    expect(registered.status).toBe(201);

    // Act
    const response = await call("POST", "/auth/login", {
      body: { email, password: "first quiet meadow" },
    });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      user: registered.body.user,
      token: expect.any(String),
      refreshToken: expect.stringMatching(/^rt_/),
      expiresInSeconds: 900,
    });
    const cart = await call("POST", "/carts", { token: response.body.token });
    expect(cart.status).toBe(201);
  });

  it("finds the account whatever the case of the email", async () => {
    // Prepare
    const email = uniqueEmail("Bob");
    expect((await register({ email, password: "first quiet meadow", name: "Bob" })).status).toBe(
      201,
    );

    // Act
    const response = await call("POST", "/auth/login", {
      body: { email: email.toUpperCase(), password: "first quiet meadow" },
    });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.user.email).toBe(email);
  });

  it("answers a wrong password and an unknown email alike: 401 INVALID_CREDENTIALS", async () => {
    // Prepare
    const email = uniqueEmail();
    expect((await register({ email, password: "first quiet meadow", name: "Ann" })).status).toBe(
      201,
    );

    // Act
    const wrongPassword = await call("POST", "/auth/login", {
      body: { email, password: "second quiet meadow" },
    });
    const unknownEmail = await call("POST", "/auth/login", {
      body: { email: uniqueEmail("nobody"), password: "first quiet meadow" },
    });

    // Assess
    expectError(wrongPassword, 401, "INVALID_CREDENTIALS");
    expectError(unknownEmail, 401, "INVALID_CREDENTIALS");
    expect(wrongPassword.body).toEqual(unknownEmail.body);
    expect(wrongPassword.body.token).toBeUndefined();
  });

  it.each([
    ["a malformed email", { email: "nope", password: "first quiet meadow" }],
    ["an empty password", { email: "x@example.com", password: "" }],
    ["a missing password", { email: "x@example.com" }],
    [
      "an unknown field",
      { email: "x@example.com", password: "first quiet meadow", remember: true },
    ],
  ])("rejects %s with 400 VALIDATION_FAILED", async (_, body) => {
    // Act
    const response = await call("POST", "/auth/login", { body });

    // Assess
    expectError(response, 400, "VALIDATION_FAILED");
  });
});

describe("authentication and roles on protected routes", () => {
  it("answers a missing token with 401 UNAUTHENTICATED", async () => {
    // Act
    const response = await protectedCall();

    // Assess
    expectError(response, 401, "UNAUTHENTICATED");
  });

  it("answers an Authorization header that is not a bearer token with 401", async () => {
    // Act
    const basic = await protectedCall(undefined, { authorization: "Basic YWRtaW46YWRtaW4=" });
    const empty = await protectedCall(undefined, { authorization: "Bearer " });

    // Assess
    expectError(basic, 401, "UNAUTHENTICATED");
    expectError(empty, 401, "UNAUTHENTICATED");
  });

  it("accepts the bearer scheme name in any case (RFC 9110)", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin");

    // Act
    const response = await protectedCall(undefined, { authorization: `bearer ${admin.token}` });

    // Assess
    expect(response.status).toBe(200);
  });

  it("answers a valid token whose account no longer exists with 401, not 500", async () => {
    // Prepare
    const gone = await createUser(t.db);
    await t.db.query("DELETE FROM users WHERE id = $1", [gone.id]);

    // Act
    const cart = await call("POST", "/carts", { token: gone.token });

    // Assess
    expectError(cart, 401, "UNAUTHENTICATED");
  });

  it("answers a garbage token with 401 UNAUTHENTICATED", async () => {
    // Act
    const response = await protectedCall("not.a.jwt");

    // Assess
    expectError(response, 401, "UNAUTHENTICATED");
  });

  it("answers a token signed with another secret with 401, even for a real admin", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin");
    const forged = await signToken({
      sub: admin.id,
      role: "admin",
      secret: "another-secret-that-is-at-least-32-characters",
    });

    // Act
    const response = await protectedCall(forged);

    // Assess
    expectError(response, 401, "UNAUTHENTICATED");
  });

  it("answers an expired token with 401 UNAUTHENTICATED", async () => {
    // Prepare: properly signed, but it expired a minute ago.
    const admin = await createUser(t.db, "admin");
    const now = Math.floor(Date.now() / 1000);
    const expired = await signToken({
      sub: admin.id,
      role: "admin",
      issuedAt: now - 3600,
      expiresAt: now - 60,
    });
    // The same token, still valid, is accepted: only the expiry makes the difference.
    const fresh = await signToken({ sub: admin.id, role: "admin" });
    expect((await protectedCall(fresh)).status).toBe(200);

    // Act
    const response = await protectedCall(expired);

    // Assess
    expectError(response, 401, "UNAUTHENTICATED");
  });

  it("answers a token for another audience or issuer with 401", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin");
    const otherAudience = await signToken({ sub: admin.id, audience: "someone-else" });
    const otherIssuer = await signToken({ sub: admin.id, issuer: "someone-else" });

    // Act
    const responses = await Promise.all([protectedCall(otherAudience), protectedCall(otherIssuer)]);

    // Assess
    for (const r of responses) expectError(r, 401, "UNAUTHENTICATED");
  });

  it("answers an unsigned (alg none) token claiming admin with 401", async () => {
    // Prepare
    const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${encode({ alg: "none", typ: "JWT" })}.${encode({
      sub: randomUUID(),
      role: "admin",
      iss: "flashstock",
      aud: "flashstock-api",
      iat: now,
      exp: now + 3600,
    })}.`;

    // Act
    const response = await protectedCall(unsigned);

    // Assess
    expectError(response, 401, "UNAUTHENTICATED");
  });

  it("answers a token signed with the right secret but another algorithm (HS512) with 401", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin");
    const token = await signToken({ sub: admin.id, alg: "HS512" });

    // Act
    const response = await protectedCall(token);

    // Assess
    expectError(response, 401, "UNAUTHENTICATED");
  });

  it("answers a valid token with a character added to its signature with 401", async () => {
    // Prepare: base64url decoders skip junk; the token must be exactly what was signed.
    const admin = await createUser(t.db, "admin");
    const token = await signToken({ sub: admin.id });
    expect((await protectedCall(token)).status).toBe(200);

    // Act
    const responses = await Promise.all([
      protectedCall(`${token}!`),
      protectedCall(`${token}.x`),
      protectedCall(token.replace(".", "=.")),
    ]);

    // Assess
    for (const r of responses) expectError(r, 401, "UNAUTHENTICATED");
  });

  it("answers a token that is not valid yet (nbf in the future) with 401", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin");
    const token = await signToken({
      sub: admin.id,
      notBefore: Math.floor(Date.now() / 1000) + 600,
    });

    // Act
    const response = await protectedCall(token);

    // Assess
    expectError(response, 401, "UNAUTHENTICATED");
  });

  it("answers a validly signed token with an unknown role with 401", async () => {
    // Prepare
    const token = await signToken({ role: "superuser" });

    // Act
    const response = await protectedCall(token);

    // Assess
    expectError(response, 401, "UNAUTHENTICATED");
  });

  it("answers a customer on a staff route with 403 FORBIDDEN", async () => {
    // Prepare
    const customer = await createUser(t.db, "customer");

    // Act
    const inventory = await protectedCall(customer.token);
    const staff = await call("POST", "/staff", {
      token: customer.token,
      body: { email: uniqueEmail(), password: "amber tunnel frost", name: "X", role: "admin" },
    });

    // Assess
    expectError(inventory, 403, "FORBIDDEN");
    expectError(staff, 403, "FORBIDDEN");
  });
});

describe("POST /staff", () => {
  it("lets an admin create a staff user who can then log in with that role", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin");
    const email = uniqueEmail("stock");

    // Act
    const response = await call("POST", "/staff", {
      token: admin.token,
      body: { email, password: "stock-password", name: "Sam", role: "stock_manager" },
    });

    // Assess
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      email,
      name: "Sam",
      role: "stock_manager",
      createdAt: isoDate,
    });
    const login = await call("POST", "/auth/login", {
      body: { email, password: "stock-password" },
    });
    expect(login.status).toBe(200);
    expect(login.body.user).toEqual(response.body);
    // The token carries the role: a stock manager may read the inventory, not create staff.
    expect((await protectedCall(login.body.token)).status).toBe(200);
    const again = await call("POST", "/staff", {
      token: login.body.token,
      body: { email: uniqueEmail(), password: "amber tunnel frost", name: "X", role: "admin" },
    });
    expectError(again, 403, "FORBIDDEN");
  });

  it.each(["ops", "admin"] as const)("can create a user with the %s role", async (role) => {
    // Prepare
    const admin = await createUser(t.db, "admin");
    const email = uniqueEmail(role);

    // Act
    const response = await call("POST", "/staff", {
      token: admin.token,
      body: { email, password: "amber tunnel frost", name: "Staff", role },
    });

    // Assess
    expect(response.status).toBe(201);
    expect(response.body.role).toBe(role);
    const { rows } = await t.db.query("SELECT role FROM users WHERE email = $1", [email]);
    expect(rows).toEqual([{ role }]);
  });

  it.each(["stock_manager", "ops"] as const)("is forbidden to %s (403)", async (role) => {
    // Prepare
    const staff = await createUser(t.db, role);
    const email = uniqueEmail();

    // Act
    const response = await call("POST", "/staff", {
      token: staff.token,
      body: { email, password: "amber tunnel frost", name: "X", role: "stock_manager" },
    });

    // Assess
    expectError(response, 403, "FORBIDDEN");
    expect(await userCount(email)).toBe(0);
  });

  it("needs a token (401 without one)", async () => {
    // Act
    const email = uniqueEmail();
    const response = await call("POST", "/staff", {
      body: { email, password: "amber tunnel frost", name: "X", role: "admin" },
    });

    // Assess
    expectError(response, 401, "UNAUTHENTICATED");
    expect(await userCount(email)).toBe(0);
  });

  it.each([
    ["the customer role", { role: "customer" }],
    ["an unknown role", { role: "root" }],
    ["a missing role", { role: undefined }],
    ["a short password", { role: "ops", password: "short" }],
  ])("rejects %s with 400 VALIDATION_FAILED", async (_, overrides) => {
    // Prepare
    const admin = await createUser(t.db, "admin");
    const email = uniqueEmail();

    // Act
    const response = await call("POST", "/staff", {
      token: admin.token,
      body: { email, password: "amber tunnel frost", name: "X", ...overrides },
    });

    // Assess
    expectError(response, 400, "VALIDATION_FAILED");
    expect(await userCount(email)).toBe(0);
  });

  it("answers an email already in use (any case) with 409 EMAIL_TAKEN", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin");
    const existing = await createUser(t.db, "customer");

    // Act
    const response = await call("POST", "/staff", {
      token: admin.token,
      body: { email: existing.email.toUpperCase(), password: PASSWORD, name: "X", role: "ops" },
    });

    // Assess
    expectError(response, 409, "EMAIL_TAKEN");
    const { rows } = await t.db.query("SELECT role FROM users WHERE lower(email) = lower($1)", [
      existing.email,
    ]);
    expect(rows).toEqual([{ role: "customer" }]);
  });
});
