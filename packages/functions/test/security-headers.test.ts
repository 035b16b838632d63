/**
 * Headers every answer carries: no content sniffing; no caching of anything that depends on the
 * caller; HSTS once deployed (in Lambda, behind API Gateway's HTTPS).
 */
import { call } from "@flashstock/testing/api";
import { useDatabase } from "@flashstock/testing/database";
import { createUser } from "@flashstock/testing/fixtures";
import { afterEach, describe, expect, it } from "vitest";

const t = useDatabase();

afterEach(() => {
  delete process.env.AWS_LAMBDA_FUNCTION_NAME;
});

describe("security headers", () => {
  it.each([
    ["a success", "GET", "/me", true, 200],
    ["a 204", "POST", "/auth/logout", false, 204],
    ["a refusal", "GET", "/orders", false, 401],
    ["a validation error", "POST", "/auth/login", false, 400],
    ["the gateway's own 404", "GET", "/no-such-route", false, 404],
  ] as const)(
    "answers %s with x-content-type-options: nosniff and cache-control: no-store",
    async (_, method, url, signedIn, status) => {
      // Prepare
      const token = signedIn ? (await createUser(t.db)).token : undefined;

      // Act
      const r = await call(method, url, {
        ...(token ? { token } : {}),
        ...(method === "POST"
          ? { body: url === "/auth/logout" ? { refreshToken: "rt_x" } : {} }
          : {}),
      });

      // Assess
      expect(r.status).toBe(status);
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
      if (status !== 404) expect(r.headers["cache-control"]).toBe("no-store");
      expect(r.headers["strict-transport-security"]).toBeUndefined();
    },
  );

  it("adds strict-transport-security when running in Lambda", async () => {
    // Prepare
    process.env.AWS_LAMBDA_FUNCTION_NAME = "flashstock-production-Login";

    // Act
    const r = await call("POST", "/auth/login", { body: {} });

    // Assess
    expect(r.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
  });
});
