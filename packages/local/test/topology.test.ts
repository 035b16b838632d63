/**
 * The topology is the one list of routes that the local runtime and the cloud definitions share.
 * These tests hold it to the spec (the routes of README's HTTP API), to the handler modules it
 * names, and hold the local runtime's router and event builder to what API Gateway (HTTP API,
 * payload v2) does.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type HttpMethod, type HttpRoute, routes } from "../../../infra/topology.ts";
import { apiGatewayEvent } from "../src/event.ts";
import { createRouter } from "../src/router.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The spec's HTTP API, route by route, and the local runtime's health check. */
const SPEC_ROUTES = [
  "GET /",
  "GET /openapi.json",
  "GET /docs",
  "GET /health",
  "POST /auth/register",
  "POST /auth/login",
  "POST /staff",
  "GET /products",
  "GET /products/{sku}",
  "POST /products",
  "PATCH /products/{sku}",
  "GET /inventory",
  "POST /inventory/{sku}/adjustments",
  "PUT /inventory/{sku}",
  "GET /inventory/{sku}/movements",
  "POST /carts",
  "GET /carts/{id}",
  "PUT /carts/{id}/items/{sku}",
  "DELETE /carts/{id}/items/{sku}",
  "POST /checkout",
  "GET /orders",
  "GET /orders/{id}",
  "POST /orders/{id}/cancel",
];

const METHODS: HttpMethod[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const routeKey = (r: HttpRoute) => `${r.method} ${r.path}`;
const paramNames = (path: string) => [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
const fill = (path: string, values: Record<string, string>) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? "");

const SAMPLE: Record<string, string> = {
  sku: "TEE-BLK-M",
  id: "0f8fad5b-d9cb-469f-a165-70867728950e",
  code: "FLASH-10",
};

describe("infra/topology.ts", () => {
  it.each(routes.map((r) => [routeKey(r), r] as const))(
    "names a handler for %s that is a file under packages/functions exporting that function",
    async (_, route) => {
      // Prepare
      const dot = route.handler.lastIndexOf(".");
      const file = `${repoRoot}${route.handler.slice(0, dot)}.ts`;
      const exportName = route.handler.slice(dot + 1);

      // Act
      const exists = existsSync(file);
      const module = exists ? await import(pathToFileURL(file).href) : {};

      // Assess
      expect(route.handler).toMatch(/^packages\/functions\/src\/http\/\w+\.\w+$/);
      expect(exists, `${file} exists`).toBe(true);
      expect(typeof module[exportName], `${route.handler} is an exported function`).toBe(
        "function",
      );
    },
  );

  it("declares no two routes with the same method and path, not even with differently named parameters", () => {
    // Act
    const keys = routes.map(routeKey);
    const shapes = routes.map((r) => `${r.method} ${r.path.replace(/\{\w+\}/g, "{}")}`);

    // Assess
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    expect(shapes.filter((s, i) => shapes.indexOf(s) !== i)).toEqual([]);
  });

  it("contains every route of the spec's HTTP API", () => {
    // Act
    const declared = new Set(routes.map(routeKey));

    // Assess
    expect(SPEC_ROUTES.filter((r) => !declared.has(r))).toEqual([]);
  });

  it("writes every path as API Gateway route syntax: absolute, no trailing slash, whole-segment parameters named once", () => {
    for (const route of routes) {
      // The root is "/", API Gateway's one path that ends in a slash.
      const segments = route.path === "/" ? [] : route.path.split("/").slice(1);
      const names = paramNames(route.path);
      expect(route.path, route.path).toMatch(/^\//);
      expect(
        segments.every((s) => /^([\w.-]+|\{\w+\})$/.test(s)),
        route.path,
      ).toBe(true);
      expect(new Set(names).size, route.path).toBe(names.length);
      expect(METHODS).toContain(route.method);
    }
  });
});

describe("the local router", () => {
  const match = createRouter(routes);

  it("matches every route template filled with sample values, and returns its path parameters", () => {
    for (const route of routes) {
      // Prepare
      const names = paramNames(route.path);
      const path = fill(route.path, SAMPLE);

      // Act
      const found = match(route.method, path);

      // Assess
      expect(found, routeKey(route)).toEqual({
        kind: "found",
        route,
        pathParameters: Object.fromEntries(names.map((n) => [n, SAMPLE[n]])),
      });
    }
  });

  it("URL-decodes path parameters, as API Gateway delivers them", () => {
    // Act + Assess
    expect(match("GET", "/products/a%20b%2Fc")).toMatchObject({
      kind: "found",
      pathParameters: { sku: "a b/c" },
    });
    expect(match("PUT", "/carts/%F0%9F%98%80/items/%25")).toMatchObject({
      kind: "found",
      route: { path: "/carts/{id}/items/{sku}" },
      pathParameters: { id: "😀", sku: "%" },
    });
    // A path is not a form: "+" is a plus sign, not a space.
    expect(match("GET", "/products/a+b")).toMatchObject({ pathParameters: { sku: "a+b" } });
    expect(match("GET", "/orders/%27%3B%20DROP%20TABLE%20orders%3B--")).toMatchObject({
      pathParameters: { id: "'; DROP TABLE orders;--" },
    });
  });

  it("gives back any value, whatever its characters, that was percent-encoded into one segment", () => {
    const value = fc.string({ unit: "binary", minLength: 1 });
    fc.assert(
      fc.property(value, value, (id, sku) => {
        const found = match(
          "DELETE",
          `/carts/${encodeURIComponent(id)}/items/${encodeURIComponent(sku)}`,
        );
        expect(found).toMatchObject({ kind: "found", pathParameters: { id, sku } });
      }),
      { numRuns: 300 },
    );
  });

  it("reports malformed percent-encoding as a bad path, not as a match or a crash", () => {
    for (const junk of ["%zz", "%", "%4", "%E0%A4%A", "%ED%A0%80", "%C0%AF", "%FF"]) {
      expect(match("GET", `/products/${junk}`), junk).toEqual({ kind: "bad_path" });
    }
  });

  it("answers a known path with a wrong method as method_not_allowed, listing the methods it has", () => {
    const paths = [...new Set(routes.map((r) => r.path))];
    for (const path of paths) {
      // Prepare
      const allowed = routes.filter((r) => r.path === path).map((r) => r.method);
      const wrong = [...METHODS, "HEAD", "OPTIONS", "get"].filter(
        (m) => !(allowed as string[]).includes(m),
      );

      for (const method of wrong) {
        // Act
        const found = match(method, fill(path, SAMPLE));

        // Assess
        expect(found.kind, `${method} ${path}`).toBe("method_not_allowed");
        if (found.kind === "method_not_allowed") {
          expect([...found.allow].sort(), `${method} ${path}`).toEqual([...allowed].sort());
        }
      }
    }
    expect(match("DELETE", "/products")).toEqual({
      kind: "method_not_allowed",
      allow: ["GET", "POST"],
    });
  });

  it("answers unknown paths with not_found", () => {
    for (const path of [
      "",
      "/nope",
      "/Products",
      "/products/",
      "/products/a/b",
      "/health/",
      "//health",
      "/carts//items/x",
      "/carts/x/items",
      "/carts/x/items/",
      "/orders/x/cancel/now",
      "/checkout/x",
    ]) {
      expect(match("GET", path), path).toEqual({ kind: "not_found" });
    }
  });
});

describe("apiGatewayEvent()", () => {
  const event = (req: Partial<Parameters<typeof apiGatewayEvent>[0]>, routeKey = "GET /x") =>
    apiGatewayEvent({ method: "GET", rawPath: "/x", ...req }, routeKey);

  it("lower-cases header names, joins repeated headers with commas and drops absent ones", () => {
    // Act
    const e = event({
      headers: {
        "Content-Type": "application/json",
        "X-Forwarded-For": ["10.0.0.1", "10.0.0.2"],
        Authorization: "Bearer abc",
        "X-Absent": undefined,
      },
    });

    // Assess
    expect(e.headers).toEqual({
      "content-type": "application/json",
      "x-forwarded-for": "10.0.0.1,10.0.0.2",
      authorization: "Bearer abc",
    });
  });

  it("splits cookies out of the headers into their own list", () => {
    // Act
    const one = event({ headers: { Cookie: "a=1; b=2", "x-y": "z" } });
    const many = event({ headers: { cookie: ["a=1", "b=2; c=3"] } });
    const none = event({ headers: { "x-y": "z" } });

    // Assess
    expect(one.cookies).toEqual(["a=1", "b=2"]);
    expect(one.headers).toEqual({ "x-y": "z" });
    expect(many.cookies).toEqual(["a=1", "b=2", "c=3"]);
    expect(many.headers).toEqual({});
    expect(none).not.toHaveProperty("cookies");
  });

  it("decodes query parameters and joins repeated ones with commas, keeping the raw query string", () => {
    // Act
    const e = event({ rawQueryString: "a=1&a=2&b=x%20y&c=&d=%E2%82%AC" });
    const none = event({ rawQueryString: "" });

    // Assess
    expect(e.rawQueryString).toBe("a=1&a=2&b=x%20y&c=&d=%E2%82%AC");
    expect(e.queryStringParameters).toEqual({ a: "1,2", b: "x y", c: "", d: "€" });
    expect(none.queryStringParameters).toBeUndefined();
    expect(none.rawQueryString).toBe("");
  });

  it("passes text bodies as they are and base64-encodes every other body", () => {
    // Prepare
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x7b]);
    const json = '{"name":"Ünïcødé 😀"}';

    // Act
    const asText = [
      event({ headers: { "content-type": "application/json" }, body: json }),
      event({ headers: { "content-type": "application/json" }, body: Buffer.from(json) }),
      event({ headers: { "content-type": "application/vnd.api+json" }, body: json }),
      event({ headers: { "content-type": "text/plain; charset=utf-8" }, body: "hello" }),
      event({ headers: { "content-type": "application/x-www-form-urlencoded" }, body: "a=1" }),
    ];
    const asBase64 = [
      event({ headers: { "content-type": "application/octet-stream" }, body: binary }),
      event({ headers: { "content-type": "application/json" }, body: binary }),
      event({ headers: { "content-type": "image/png" }, body: json }),
      event({ body: json }),
    ];
    const empty = [event({ body: "" }), event({})];

    // Assess
    expect(asText.map((e) => [e.body, e.isBase64Encoded])).toEqual([
      [json, false],
      [json, false],
      [json, false],
      ["hello", false],
      ["a=1", false],
    ]);
    expect(asBase64.map((e) => e.isBase64Encoded)).toEqual([true, true, true, true]);
    expect(Buffer.from(asBase64[0]?.body as string, "base64")).toEqual(binary);
    expect(Buffer.from(asBase64[1]?.body as string, "base64")).toEqual(binary);
    expect(Buffer.from(asBase64[2]?.body as string, "base64").toString("utf8")).toBe(json);
    for (const e of empty) {
      expect(e.body).toBeUndefined();
      expect(e.isBase64Encoded).toBe(false);
    }
  });

  it("sets the route key, the path parameters and the request context as API Gateway does", () => {
    // Act
    const e = apiGatewayEvent(
      {
        method: "PUT",
        rawPath: "/carts/abc/items/a%20b",
        headers: { host: "shop.example", "user-agent": "curl/8" },
        sourceIp: "203.0.113.9",
      },
      "PUT /carts/{id}/items/{sku}",
      { id: "abc", sku: "a b" },
    );
    const other = event({});
    const noParams = apiGatewayEvent({ method: "GET", rawPath: "/health" }, "GET /health", {});

    // Assess
    expect(e).toMatchObject({
      version: "2.0",
      routeKey: "PUT /carts/{id}/items/{sku}",
      rawPath: "/carts/abc/items/a%20b",
      pathParameters: { id: "abc", sku: "a b" },
      requestContext: {
        routeKey: "PUT /carts/{id}/items/{sku}",
        stage: "$default",
        domainName: "shop.example",
        http: {
          method: "PUT",
          path: "/carts/abc/items/a%20b",
          sourceIp: "203.0.113.9",
          userAgent: "curl/8",
        },
      },
    });
    expect(e.requestContext.timeEpoch).toBeTypeOf("number");
    expect(e.requestContext.requestId).not.toBe(other.requestContext.requestId);
    expect(noParams).not.toHaveProperty("pathParameters");
  });
});
