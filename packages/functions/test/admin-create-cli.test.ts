/**
 * `npm run admin:create`, run as an operator runs it (a child process) against a database URL:
 * the first admin of a stage, the password from standard input and never from the command line.
 */

import { call } from "@flashstock/testing/api";
import { runCommand } from "@flashstock/testing/command";
import { useDatabase } from "@flashstock/testing/database";
import { createUser } from "@flashstock/testing/fixtures";
import { describe, expect, it } from "vitest";

const t = useDatabase();

function adminCreate(args: string[], input?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: t.url };
  for (const key of Object.keys(env)) if (key.startsWith("SST_RESOURCE_")) delete env[key];
  return runCommand(
    process.execPath,
    ["--import", "tsx", "packages/functions/src/cli/admin-create.ts", ...args],
    env,
    input,
  );
}

const login = (email: string, password: string) =>
  call("POST", "/auth/login", { body: { email, password } });

describe("npm run admin:create", () => {
  it("creates an admin with the password piped to it, who can then log in as admin", async () => {
    // Act
    const run = await adminCreate(
      ["--email", "first-admin@example.com", "--name", "First"],
      "a long admin passphrase\n",
    );

    // Assess
    expect(run.code, run.out).toBe(0);
    expect(run.out).toContain("created admin first-admin@example.com");
    const r = await login("first-admin@example.com", "a long admin passphrase");
    expect(r.status).toBe(200);
    expect(r.body.user).toMatchObject({ name: "First", role: "admin" });
  });

  it("promotes an existing account to an active admin with the new password and ends its logins", async () => {
    // Prepare
    const user = await createUser(t.db, "stock_manager");
    await t.db.query("UPDATE users SET disabled = true WHERE id = $1", [user.id]);

    // Act
    const run = await adminCreate(
      ["--email", user.email.toUpperCase()],
      "promoted passphrase 42\n",
    );

    // Assess
    expect(run.code, run.out).toBe(0);
    expect(run.out).toContain("promoted admin");
    const r = await login(user.email, "promoted passphrase 42");
    expect(r.status).toBe(200);
    expect(r.body.user.role).toBe("admin");
  });

  it.each([
    ["a password on the command line", ["--email", "x@example.com", "--password", "secret123"]],
    ["no email", []],
  ])("refuses %s with exit code 2 and its usage, writing nothing", async (_, args) => {
    // Prepare
    const { rows: before } = await t.db.query("SELECT count(*)::int AS n FROM users");

    // Act
    const run = await adminCreate(args, "whatever passphrase\n");

    // Assess
    expect(run.code).toBe(2);
    expect(run.out).toContain("usage: npm run admin:create");
    const { rows: after } = await t.db.query("SELECT count(*)::int AS n FROM users");
    expect(after).toEqual(before);
  });

  it("refuses a guessable password with exit code 1 and zxcvbn's reasons, creating nobody", async () => {
    // Act
    const run = await adminCreate(["--email", "weak-admin@example.com"], "password123\n");

    // Assess
    expect(run.code).toBe(1);
    expect(run.out).toContain("too easy to guess");
    expect(run.out).toMatch(/commonly used password/i);
    const { rows } = await t.db.query("SELECT 1 FROM users WHERE email = 'weak-admin@example.com'");
    expect(rows).toEqual([]);
  });
});
