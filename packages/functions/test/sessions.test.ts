/**
 * Sessions that can be revoked: short access tokens, refresh tokens used once and rotated, a
 * reused refresh token ending its whole login, logout, the caller's account, and a password change
 * that ends every other login.
 */
import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import { useDatabase } from "@flashstock/testing/database";
import { createUser, PASSWORD, type TestUser } from "@flashstock/testing/fixtures";
import { describe, expect, it } from "vitest";

const t = useDatabase();

const login = (user: Pick<TestUser, "email">, password = PASSWORD) =>
  call("POST", "/auth/login", { body: { email: user.email, password } });

const refresh = (refreshToken: string) => call("POST", "/auth/refresh", { body: { refreshToken } });

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString("utf8"));

describe("POST /auth/refresh", () => {
  it("answers a new access token and the next refresh token, and the access token lives ACCESS_TOKEN_TTL_SECONDS", async () => {
    // Prepare
    const user = await createUser(t.db);
    const session = (await login(user)).body;

    // Act
    const renewed = await refresh(session.refreshToken);

    // Assess
    expect(renewed.status).toBe(200);
    expect(renewed.body).toEqual({
      token: expect.any(String),
      refreshToken: expect.stringMatching(/^rt_[\w-]{43}$/),
      expiresInSeconds: 900,
    });
    expect(renewed.body.refreshToken).not.toBe(session.refreshToken);
    const claims = claimsOf(renewed.body.token);
    expect(claims.exp - claims.iat).toBe(900);
    expect(claims.sid).toBe(claimsOf(session.token).sid);
    const me = await call("GET", "/me", { token: renewed.body.token });
    expect(me.body.id).toBe(user.id);
  });

  it("revokes the whole login when a used refresh token comes back: 401 REFRESH_TOKEN_REUSED, and the token that replaced it is refused too", async () => {
    // Prepare
    const user = await createUser(t.db);
    const session = (await login(user)).body;
    const next = (await refresh(session.refreshToken)).body;

    // Act
    const replayed = await refresh(session.refreshToken);
    const successor = await refresh(next.refreshToken);

    // Assess
    expect([replayed.status, replayed.body.error.code]).toEqual([401, "REFRESH_TOKEN_REUSED"]);
    expect([successor.status, successor.body.error.code]).toEqual([401, "UNAUTHENTICATED"]);
    const { rows } = await t.db.query("SELECT revoked_reason FROM logins WHERE user_id = $1", [
      user.id,
    ]);
    expect(rows).toEqual([{ revoked_reason: "refresh_token_reused" }]);
  });

  it("lets exactly one of two simultaneous refreshes with one token through; the other revokes the login", async () => {
    // Prepare
    const user = await createUser(t.db);
    const session = (await login(user)).body;

    // Act
    const answers = await Promise.all([
      refresh(session.refreshToken),
      refresh(session.refreshToken),
    ]);

    // Assess
    const statuses = answers.map((a) => `${a.status} ${a.body.error?.code ?? ""}`.trim()).sort();
    expect(statuses).toEqual(["200", "401 REFRESH_TOKEN_REUSED"]);
    const winner = answers.find((a) => a.status === 200);
    expect((await refresh(winner?.body.refreshToken)).status).toBe(401);
  });

  it.each([
    ["unknown", async () => `rt_${randomUUID()}`],
    [
      "expired",
      async () => {
        const user = await createUser(t.db);
        const { refreshToken } = (await login(user)).body;
        await t.db.query(
          `UPDATE refresh_tokens SET expires_at = now() - interval '1 second'
            WHERE login_id IN (SELECT id FROM logins WHERE user_id = $1)`,
          [user.id],
        );
        return refreshToken as string;
      },
    ],
    [
      "of a disabled user",
      async () => {
        const user = await createUser(t.db);
        const { refreshToken } = (await login(user)).body;
        await t.db.query("UPDATE users SET disabled = true WHERE id = $1", [user.id]);
        return refreshToken as string;
      },
    ],
  ])("refuses a refresh token that is %s with 401 UNAUTHENTICATED", async (_, prepare) => {
    // Prepare
    const refreshToken = await prepare();

    // Act
    const r = await refresh(refreshToken);

    // Assess
    expect([r.status, r.body.error.code]).toEqual([401, "UNAUTHENTICATED"]);
  });

  it("gives the next access token the user's role as it is now: a demoted stock manager's refreshed token is refused the inventory", async () => {
    // Prepare
    const manager = await createUser(t.db, "stock_manager");
    const session = (await login(manager)).body;
    expect((await call("GET", "/inventory", { token: session.token })).status).toBe(200);
    await t.db.query("UPDATE users SET role = 'customer' WHERE id = $1", [manager.id]);

    // Act
    const renewed = await refresh(session.refreshToken);

    // Assess
    expect(claimsOf(renewed.body.token).role).toBe("customer");
    const inventory = await call("GET", "/inventory", { token: renewed.body.token });
    expect([inventory.status, inventory.body.error.code]).toEqual([403, "FORBIDDEN"]);
  });
});

describe("POST /auth/logout", () => {
  it("ends the login of its refresh token (204), leaves the user's other logins alone, and answers 204 again", async () => {
    // Prepare
    const user = await createUser(t.db);
    const first = (await login(user)).body;
    const second = (await login(user)).body;

    // Act
    const out = await call("POST", "/auth/logout", { body: { refreshToken: first.refreshToken } });
    const again = await call("POST", "/auth/logout", {
      body: { refreshToken: first.refreshToken },
    });

    // Assess
    expect([out.status, out.text]).toEqual([204, ""]);
    expect(again.status).toBe(204);
    expect((await refresh(first.refreshToken)).status).toBe(401);
    expect((await refresh(second.refreshToken)).status).toBe(200);
  });
});

describe("/me", () => {
  it("shows the caller's account and changes its name", async () => {
    // Prepare
    const user = await createUser(t.db, "ops", "Olga");

    // Act
    const before = await call("GET", "/me", { token: user.token });
    const renamed = await call("PATCH", "/me", { token: user.token, body: { name: " Olga O. " } });

    // Assess
    expect(before.body).toEqual({
      id: user.id,
      email: user.email,
      name: "Olga",
      role: "ops",
      createdAt: expect.any(String),
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual({ ...before.body, name: "Olga O." });
    expect((await call("GET", "/me", { token: user.token })).body).toEqual(renamed.body);
  });

  it("changes the password given the current one (204), ends every other login but the caller's, and refuses a wrong current password with 401 INVALID_CREDENTIALS", async () => {
    // Prepare
    const user = await createUser(t.db);
    const mine = (await login(user)).body;
    const elsewhere = (await login(user)).body;

    // Act
    const wrong = await call("POST", "/me/password", {
      token: mine.token,
      body: { currentPassword: "not the password", newPassword: "a new long passphrase" },
    });
    const changed = await call("POST", "/me/password", {
      token: mine.token,
      body: { currentPassword: PASSWORD, newPassword: "a new long passphrase" },
    });

    // Assess
    expect([wrong.status, wrong.body.error.code]).toEqual([401, "INVALID_CREDENTIALS"]);
    expect([changed.status, changed.text]).toEqual([204, ""]);
    expect((await refresh(elsewhere.refreshToken)).status).toBe(401);
    expect((await refresh(mine.refreshToken)).status).toBe(200);
    expect((await login(user)).status).toBe(401);
    expect((await login(user, "a new long passphrase")).status).toBe(200);
  });
});

describe("a disabled account", () => {
  it("cannot log in: 401 INVALID_CREDENTIALS, as for a wrong password", async () => {
    // Prepare
    const user = await createUser(t.db);
    await t.db.query("UPDATE users SET disabled = true WHERE id = $1", [user.id]);

    // Act
    const r = await login(user);

    // Assess
    expect([r.status, r.body.error.code]).toEqual([401, "INVALID_CREDENTIALS"]);
  });
});
