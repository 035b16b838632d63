/**
 * Password reset: a request emails a single-use link valid 30 minutes (and answers alike for an
 * unknown email); the token sets a new password, signs its owner in and ends every other login.
 */
import { call } from "@flashstock/testing/api";
import { useDatabase } from "@flashstock/testing/database";
import { useEventSystem } from "@flashstock/testing/events";
import { createUser, PASSWORD } from "@flashstock/testing/fixtures";
import { describe, expect, it } from "vitest";

const t = useDatabase();
const events = useEventSystem();

let addressCounter = 0;
const request = (email: string) =>
  call("POST", "/auth/password-reset", {
    body: { email },
    sourceIp: `192.0.2.${++addressCounter}`,
  });
const confirm = (token: string, password: string) =>
  call("POST", "/auth/password-reset/confirm", { body: { token, password } });

/** The token in the newest reset email to this address. */
async function emailedToken(email: string): Promise<{ token: string; link: string }> {
  const mails = (await events.inbox(email)).filter((m) => m.subject === "Reset your password");
  const text = mails.at(-1)?.body.text ?? "";
  const link = /https?:\/\/\S+\/reset-password\?token=([\w-]+)/.exec(text);
  if (!link?.[1]) throw new Error(`no reset link in: ${text}`);
  return { token: link[1], link: link[0] };
}

describe("POST /auth/password-reset", () => {
  it("emails a link to the web UI's reset page with a single-use token, and answers 202", async () => {
    // Prepare
    const user = await createUser(t.db);

    // Act
    const r = await request(user.email.toUpperCase());

    // Assess
    expect(r.status).toBe(202);
    const { link } = await emailedToken(user.email);
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:3001\/reset-password\?token=[\w-]{43}$/);
    const { rows } = await t.db.query(
      "SELECT token_hash FROM password_reset_tokens WHERE user_id = $1",
      [user.id],
    );
    expect(rows).toHaveLength(1);
    // Stored as its SHA-256 only: the emailed token itself is nowhere in the database.
    expect(JSON.stringify(rows)).not.toContain((await emailedToken(user.email)).token);
  });

  it("answers an unknown email exactly as a known one, and sends nothing", async () => {
    // Act
    const r = await request("nobody-here@example.com");

    // Assess
    expect(r.status).toBe(202);
    expect(r.body).toEqual({
      message: "If an account has this email, a link to reset its password is on its way",
    });
    expect(await events.inbox("nobody-here@example.com")).toEqual([]);
  });

  it("answers the 4th request for one email within an hour with 429 TOO_MANY_ATTEMPTS", async () => {
    // Prepare
    const user = await createUser(t.db);
    for (let i = 0; i < 3; i++) expect((await request(user.email)).status).toBe(202);

    // Act
    const r = await request(user.email);

    // Assess
    expect([r.status, r.body.error.code]).toEqual([429, "TOO_MANY_ATTEMPTS"]);
    expect(Number(r.headers["retry-after"])).toBeGreaterThan(3000);
  });
});

describe("POST /auth/password-reset/confirm", () => {
  it("sets the new password and signs in (200, as login), once; every earlier login ends", async () => {
    // Prepare
    const user = await createUser(t.db);
    const earlier = (
      await call("POST", "/auth/login", { body: { email: user.email, password: PASSWORD } })
    ).body;
    await request(user.email);
    const { token } = await emailedToken(user.email);

    // Act
    const first = await confirm(token, "a brand new passphrase");
    const again = await confirm(token, "yet another passphrase");

    // Assess
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ user: { id: user.id }, refreshToken: expect.any(String) });
    expect([again.status, again.body.error.code]).toEqual([400, "INVALID_RESET_TOKEN"]);
    const refreshed = await call("POST", "/auth/refresh", {
      body: { refreshToken: earlier.refreshToken },
    });
    expect(refreshed.status).toBe(401);
    const login = await call("POST", "/auth/login", {
      body: { email: user.email, password: "a brand new passphrase" },
    });
    expect(login.status).toBe(200);
  });

  it.each([
    ["unknown", async () => "not-a-token-at-all"],
    [
      "expired",
      async () => {
        const user = await createUser(t.db);
        await request(user.email);
        const { token } = await emailedToken(user.email);
        await t.db.query(
          "UPDATE password_reset_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1",
          [user.id],
        );
        return token;
      },
    ],
  ])("refuses a token that is %s with 400 INVALID_RESET_TOKEN", async (_, prepare) => {
    // Prepare
    const token = await prepare();

    // Act
    const r = await confirm(token, "a brand new passphrase");

    // Assess
    expect([r.status, r.body.error.code]).toEqual([400, "INVALID_RESET_TOKEN"]);
  });
});
