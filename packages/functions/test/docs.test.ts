/**
 * The API describes itself: its index, the OpenAPI document it was built with, and a reference page
 * that needs nothing from any other host.
 */
import { readFileSync } from "node:fs";
import { call } from "@flashstock/testing/api";
import { useDatabase } from "@flashstock/testing/database";
import { describe, expect, it } from "vitest";

useDatabase();
const committed = JSON.parse(
  readFileSync(new URL("../../../docs/openapi.json", import.meta.url), "utf8"),
);

describe("the API's own documentation", () => {
  it("answers GET / with where the document and the reference are", async () => {
    // Act
    const res = await call("GET", "/");

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: "flashstock",
      version: committed.info.version,
      openapi: "/openapi.json",
      docs: "/docs",
    });
  });

  it("serves the committed OpenAPI document at GET /openapi.json", async () => {
    // Act
    const res = await call("GET", "/openapi.json");

    // Assess
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.body).toEqual(committed);
  });

  it("serves a reference page whose stylesheet and script come from this API, and from no other host", async () => {
    // Act
    const page = await call("GET", "/docs");
    const assets = [...page.text.matchAll(/(?:href|src)="([^"]+)"/g)]
      .map((m) => m[1] as string)
      .sort();
    const [script, css] = await Promise.all(assets.map((a) => call("GET", `/${a}`)));

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.text).toContain('url: "openapi.json"');
    expect(assets).toEqual(["docs/swagger-ui-bundle.js", "docs/swagger-ui.css"]);
    expect(page.text).not.toMatch(/https?:\/\//);
    expect([script?.status, script?.headers["content-type"]]).toEqual([
      200,
      "text/javascript; charset=utf-8",
    ]);
    expect([css?.status, css?.headers["content-type"]]).toEqual([200, "text/css; charset=utf-8"]);
    // The stylesheet embeds its icons (data: URLs) and imports no font.
    expect(css?.text.length).toBeGreaterThan(10_000);
    expect(css?.text).not.toMatch(/url\(\s*["']?https?:|@import/);
    expect(script?.text).toContain("SwaggerUIBundle");
  });
});
