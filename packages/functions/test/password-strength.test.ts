/**
 * Strong passwords: every way a password is set (register, staff creation, reset, change) refuses
 * one zxcvbn scores below 3 with 400 WEAK_PASSWORD, says why, and changes nothing.
 */
import { type ApiResponse, call } from "@flashstock/testing/api";
import { useDatabase } from "@flashstock/testing/database";
import { useEventSystem } from "@flashstock/testing/events";
import { createUser, PASSWORD } from "@flashstock/testing/fixtures";
import { describe, expect, it } from "vitest";

const t = useDatabase();
const events = useEventSystem();

let counter = 0;
// Long and random-looking on purpose: zxcvbn alone scores these 4, so refusing them as passwords
// proves the account's own email and name are among the words it tries.
const uniqueEmail = (local = "zq.brightwater") => `${local}.${++counter}.${Date.now()}@example.com`;
const NAME = "Zephyrine Quattlebaum";

/** Passwords the length rule let through, each with what makes it guessable. */
const weakPasswords = [
  ["a famous password", () => "password"],
  ["digits in a row", () => "12345678"],
  ["eight spaces", () => "        "],
  ["a keyboard walk", () => "qwertyuiop"],
  ["a common word and a year", () => "sunshine2024"],
  ["the account's own email", (email: string) => email],
  ["the account's email before the @", (email: string) => email.split("@")[0] as string],
  ["the account's name", () => NAME],
] as const;

const expectWeakPassword = (r: ApiResponse) => {
  expect([r.status, r.body.error.code]).toEqual([400, "WEAK_PASSWORD"]);
  expect(r.body.error.details).toEqual({
    warning: expect.toBeOneOf([null, expect.any(String)]),
    suggestions: expect.any(Array),
  });
  // It says why: a warning, or at least one suggestion, in words a shopper reads.
  const { warning, suggestions } = r.body.error.details;
  expect([warning, ...suggestions].filter(Boolean).length).toBeGreaterThan(0);
};

describe("POST /auth/register", () => {
  it.each(weakPasswords)(
    "refuses %s with 400 WEAK_PASSWORD and creates no user",
    async (_, weak) => {
      // Prepare
      const email = uniqueEmail();

      // Act
      const r = await call("POST", "/auth/register", {
        body: { email, password: weak(email), name: NAME },
      });

      // Assess
      expectWeakPassword(r);
      const { rows } = await t.db.query("SELECT 1 FROM users WHERE email = $1", [email]);
      expect(rows).toEqual([]);
    },
  );

  it("accepts a passphrase of uncommon words", async () => {
    // Act
    const r = await call("POST", "/auth/register", {
      body: { email: uniqueEmail(), password: "violet harbor lantern", name: NAME },
    });

    // Assess
    expect(r.status).toBe(201);
  });

  it("tells the shopper why in the details: a common password is named as one", async () => {
    // Act
    const r = await call("POST", "/auth/register", {
      body: { email: uniqueEmail(), password: "password1", name: "Sam" },
    });

    // Assess
    expectWeakPassword(r);
    expect(r.body.error.details.warning).toMatch(/commonly used password/i);
  });
});

describe("POST /staff", () => {
  it("refuses a weak password for a new staff member with 400 WEAK_PASSWORD and creates nobody", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin");
    const email = uniqueEmail("stock");

    // Act
    const r = await call("POST", "/staff", {
      token: admin.token,
      body: { email, password: "stockmanager1", name: "Stock Manager", role: "stock_manager" },
    });

    // Assess
    expectWeakPassword(r);
    const { rows } = await t.db.query("SELECT 1 FROM users WHERE email = $1", [email]);
    expect(rows).toEqual([]);
  });
});

describe("POST /me/password", () => {
  it("refuses a weak new password with 400 WEAK_PASSWORD and keeps the old one and every login", async () => {
    // Prepare
    const user = await createUser(t.db);
    const session = (
      await call("POST", "/auth/login", { body: { email: user.email, password: PASSWORD } })
    ).body;

    // Act
    const r = await call("POST", "/me/password", {
      token: session.token,
      body: { currentPassword: PASSWORD, newPassword: user.email },
    });

    // Assess
    expectWeakPassword(r);
    const again = await call("POST", "/auth/login", {
      body: { email: user.email, password: PASSWORD },
    });
    expect(again.status).toBe(200);
    const refreshed = await call("POST", "/auth/refresh", {
      body: { refreshToken: session.refreshToken },
    });
    expect(refreshed.status).toBe(200);
  });
});

describe("POST /auth/password-reset/confirm", () => {
  it("refuses a weak password with 400 WEAK_PASSWORD without spending the token, which then sets a strong one", async () => {
    // Prepare
    const user = await createUser(t.db);
    const requested = await call("POST", "/auth/password-reset", {
      body: { email: user.email },
      sourceIp: "198.51.100.7",
    });
    expect(requested.status).toBe(202);
    const mail = (await events.inbox(user.email)).at(-1)?.body.text ?? "";
    const token = /reset-password\?token=([\w-]+)/.exec(mail)?.[1] as string;

    // Act
    const weak = await call("POST", "/auth/password-reset/confirm", {
      body: { token, password: "12345678" },
    });
    const strong = await call("POST", "/auth/password-reset/confirm", {
      body: { token, password: "quiet meadow anchor" },
    });

    // Assess
    expectWeakPassword(weak);
    expect(strong.status).toBe(200);
    const login = await call("POST", "/auth/login", {
      body: { email: user.email, password: "quiet meadow anchor" },
    });
    expect(login.status).toBe(200);
  });

  it("answers an unknown token with 400 INVALID_RESET_TOKEN before judging the password", async () => {
    // Act
    const r = await call("POST", "/auth/password-reset/confirm", {
      body: { token: "not-a-token-this-api-issued", password: "12345678" },
    });

    // Assess
    expect([r.status, r.body.error.code]).toEqual([400, "INVALID_RESET_TOKEN"]);
  });
});
