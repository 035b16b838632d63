import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DomainError,
  type ErrorCode,
  errorRegistry,
  messageOf,
  statusOf,
} from "@flashstock/core/error";
import { whenAnswered } from "@flashstock/core/error-docs";
import { describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../../../", import.meta.url));

/** The rows of the README's error table, as `[status, code, when]`. */
function readmeErrorTable(): [number, string, string][] {
  const readme = readFileSync(join(repo, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Errors"));
  const table = section.slice(0, section.indexOf("\n\n", section.indexOf("| status")));
  return [...table.matchAll(/^\|\s*(\d{3})\s*\|\s*`([A-Z_]+)`\s*\|\s*(.*?)\s*\|$/gm)].map((m) => [
    Number(m[1]),
    m[2] as string,
    m[3] as string,
  ]);
}

/** Every SQL file of the core, migrations and definitions. */
function sqlFiles(dir = join(repo, "packages/core")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : sqlFiles(path);
    return entry.name.endsWith(".sql") ? [path] : [];
  });
}

describe("the error registry", () => {
  it("is exactly the README's error table: the same codes, in the same order, with the same statuses and the same words on when each is answered", () => {
    // Act
    const documented = readmeErrorTable();

    // Assess
    const registered = (Object.keys(errorRegistry) as ErrorCode[]).map((code) => [
      statusOf(code),
      code,
      whenAnswered[code],
    ]);
    expect(documented).toEqual(registered);
  });

  it("holds every code the SQL raises, with the status its SQLSTATE carries", () => {
    // Prepare
    const raised = sqlFiles().flatMap((file) =>
      [
        ...readFileSync(file, "utf8").matchAll(
          /ERRCODE\s*=\s*'FS(\d{3})',\s*MESSAGE\s*=\s*'(\w+)'/g,
        ),
      ].map((m) => ({ file, status: Number(m[1]), code: m[2] as string })),
    );

    // Assess: the SQL raises something, and nothing the registry does not know.
    expect(raised.length).toBeGreaterThan(0);
    for (const { file, status, code } of raised) {
      expect(Object.keys(errorRegistry), `${code} in ${file}`).toContain(code);
      expect(statusOf(code as keyof typeof errorRegistry), `${code} in ${file}`).toBe(status);
    }
  });

  it.each([
    { code: "SKU_EXISTS", details: { sku: "TEE-1" }, message: "A product with SKU TEE-1 exists" },
    { code: "BODY_TOO_LARGE", details: { limit: 65536 }, message: "The body exceeds 65536 bytes" },
    { code: "METHOD_NOT_ALLOWED", details: { allow: "GET, PUT" }, message: "Use GET, PUT" },
    { code: "CART_EMPTY", details: { cartId: "x" }, message: "The cart has no items" },
  ] as const)("fills $code's message from its details", ({ code, details, message }) => {
    // Act
    const error = new DomainError(code, details);

    // Assess
    expect(error.message).toBe(message);
    expect(messageOf(code, details)).toBe(message);
    expect(error.status).toBe(statusOf(code));
  });
});
