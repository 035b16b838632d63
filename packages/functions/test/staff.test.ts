/**
 * Staff accounts managed by admins: a role change or a disable ends the user's logins at once
 * (their refresh tokens stop working; an access token already issued lives until it expires), and
 * the shop always keeps one active admin.
 */
import { call } from "@flashstock/testing/api";
import { useDatabase } from "@flashstock/testing/database";
import { createUser, PASSWORD, type TestUser } from "@flashstock/testing/fixtures";
import { afterEach, describe, expect, it } from "vitest";

const t = useDatabase();

const login = (user: TestUser) =>
  call("POST", "/auth/login", { body: { email: user.email, password: PASSWORD } });
const patchStaff = (admin: TestUser, id: string, body: object) =>
  call("PATCH", `/staff/${id}`, { token: admin.token, body });

const savedTtl = process.env.ACCESS_TOKEN_TTL_SECONDS;
afterEach(() => {
  if (savedTtl === undefined) delete process.env.ACCESS_TOKEN_TTL_SECONDS;
  else process.env.ACCESS_TOKEN_TTL_SECONDS = savedTtl;
});

describe("GET /staff", () => {
  it("lists every account that is not a customer's, with whether it is disabled", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin");
    const manager = await createUser(t.db, "stock_manager", "Sam");
    const customer = await createUser(t.db);

    // Act
    const r = await call("GET", "/staff", { token: admin.token });

    // Assess
    expect(r.status).toBe(200);
    const ids = r.body.items.map((u: { id: string }) => u.id);
    expect(ids).toContain(admin.id);
    expect(ids).not.toContain(customer.id);
    expect(r.body.items.find((u: { id: string }) => u.id === manager.id)).toEqual({
      id: manager.id,
      email: manager.email,
      name: "Sam",
      role: "stock_manager",
      createdAt: expect.any(String),
      disabled: false,
    });
  });
});

describe("PATCH /staff/{id}", () => {
  it("demotes a stock manager: their refresh fails at once, their access token lives out its lifetime, and a new login's token is refused the inventory (403)", async () => {
    // Prepare: access tokens that live 2 seconds.
    process.env.ACCESS_TOKEN_TTL_SECONDS = "2";
    const admin = await createUser(t.db, "admin");
    const manager = await createUser(t.db, "stock_manager");
    const session = (await login(manager)).body;

    // Act
    const demoted = await patchStaff(admin, manager.id, { role: "customer" });
    const refreshed = await call("POST", "/auth/refresh", {
      body: { refreshToken: session.refreshToken },
    });
    const stillValid = await call("GET", "/inventory", { token: session.token });
    await new Promise((r) => setTimeout(r, 2_100));
    const expired = await call("GET", "/inventory", { token: session.token });
    const again = (await login(manager)).body;
    const asCustomer = await call("GET", "/inventory", { token: again.token });

    // Assess
    expect(demoted.status).toBe(200);
    expect(demoted.body).toMatchObject({ id: manager.id, role: "customer", disabled: false });
    expect([refreshed.status, refreshed.body.error.code]).toEqual([401, "UNAUTHENTICATED"]);
    expect(stillValid.status).toBe(200);
    expect([expired.status, expired.body.error.code]).toEqual([401, "UNAUTHENTICATED"]);
    expect([asCustomer.status, asCustomer.body.error.code]).toEqual([403, "FORBIDDEN"]);
  });

  it("disables a user: they can neither log in (401 INVALID_CREDENTIALS) nor refresh; enabling them lets them log in again", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin");
    const ops = await createUser(t.db, "ops");
    const session = (await login(ops)).body;

    // Act
    const disabled = await patchStaff(admin, ops.id, { disabled: true });
    const loginWhileDisabled = await login(ops);
    const refreshWhileDisabled = await call("POST", "/auth/refresh", {
      body: { refreshToken: session.refreshToken },
    });
    await patchStaff(admin, ops.id, { disabled: false });
    const loginAfter = await login(ops);

    // Assess
    expect(disabled.body.disabled).toBe(true);
    expect([loginWhileDisabled.status, loginWhileDisabled.body.error.code]).toEqual([
      401,
      "INVALID_CREDENTIALS",
    ]);
    expect(refreshWhileDisabled.status).toBe(401);
    expect(loginAfter.status).toBe(200);
  });

  it("refuses to demote or disable the last active admin (409 LAST_ADMIN), changing nothing, and allows it once another admin is active", async () => {
    // Prepare: this file's database may hold other admins; leave exactly one active.
    const admin = await createUser(t.db, "admin");
    await t.db.query("UPDATE users SET disabled = true WHERE role = 'admin' AND id <> $1", [
      admin.id,
    ]);

    // Act
    const demote = await patchStaff(admin, admin.id, { role: "ops" });
    const disable = await patchStaff(admin, admin.id, { disabled: true });
    const second = await createUser(t.db, "admin");
    const allowed = await patchStaff(second, admin.id, { role: "ops" });

    // Assess
    for (const r of [demote, disable]) {
      expect([r.status, r.body.error.code]).toEqual([409, "LAST_ADMIN"]);
    }
    expect(allowed.status).toBe(200);
    const { rows } = await t.db.query("SELECT role FROM users WHERE id = $1", [admin.id]);
    expect(rows).toEqual([{ role: "ops" }]);
  });

  it("keeps one active admin when two admins demote each other at the same moment", async () => {
    // Prepare
    const a = await createUser(t.db, "admin");
    const b = await createUser(t.db, "admin");
    await t.db.query(
      "UPDATE users SET disabled = true WHERE role = 'admin' AND id NOT IN ($1, $2)",
      [a.id, b.id],
    );

    // Act
    const answers = await Promise.all([
      patchStaff(a, b.id, { role: "ops" }),
      patchStaff(b, a.id, { role: "ops" }),
    ]);

    // Assess
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const { rows } = await t.db.query(
      "SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND NOT disabled",
    );
    expect(rows).toEqual([{ n: 1 }]);
  });

  it("answers 404 NOT_FOUND for an unknown user", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin");

    // Act
    const r = await patchStaff(admin, "00000000-0000-4000-8000-000000000000", { role: "ops" });

    // Assess
    expect([r.status, r.body.error.code]).toEqual([404, "NOT_FOUND"]);
  });
});
