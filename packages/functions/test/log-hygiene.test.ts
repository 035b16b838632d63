/**
 * What reaches the logs: ids, codes and statuses, never a password, an email or a token, even when
 * an operator turns on Powertools' event logging for a stage.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// Read by the logger when its module loads, so set before any handler is imported.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
  process.env.POWERTOOLS_LOGGER_LOG_EVENT = "true";
});

import { call } from "@flashstock/testing/api";
import { useDatabase } from "@flashstock/testing/database";
import { createUser, PASSWORD } from "@flashstock/testing/fixtures";

const t = useDatabase();

let written: string[] = [];
beforeEach(() => {
  written = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("the logs of the HTTP handlers, with POWERTOOLS_LOGGER_LOG_EVENT=true", () => {
  it("log a refused login by its code, without the request's email, password or the caller's token", async () => {
    // Prepare
    const user = await createUser(t.db);
    const secretTry = "hunter2-is-not-my-password";

    // Act
    const refused = await call("POST", "/auth/login", {
      body: { email: user.email, password: secretTry },
    });
    const signedIn = await call("POST", "/auth/login", {
      body: { email: user.email, password: PASSWORD },
    });
    const me = await call("GET", "/me", { token: signedIn.body.token });

    // Assess
    expect([refused.status, signedIn.status, me.status]).toEqual([401, 200, 200]);
    const logs = written.join("");
    expect(logs).toContain('"code":"INVALID_CREDENTIALS"');
    for (const secret of [
      secretTry,
      PASSWORD,
      user.email,
      signedIn.body.token,
      signedIn.body.refreshToken,
    ]) {
      expect(logs).not.toContain(secret);
    }
  });
});
