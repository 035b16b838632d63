/**
 * Hostile paths, methods, queries, cursors and headers, case by case, on every route they reach:
 * junk path parameters, unknown paths and methods, out-of-range and injected query parameters,
 * cursors this API never issued, tokens that must not authenticate, bad idempotency keys, and
 * content-type, encoding and size abuse of the headers. Each refused request gets a 4xx with a
 * documented error code and writes nothing (useContract checks every table after each).
 */
import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { call } from "@flashstock/testing/api";
import {
  checkLedger,
  expectLedgerConsistent,
  tablesSnapshot,
  useDatabase,
} from "@flashstock/testing/database";
import {
  address,
  cartWith,
  cashOnDelivery,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { cursor } from "@flashstock/testing/hostile/arbitraries";
import {
  clip,
  describeRequest,
  expectRefused,
  type Sent,
  useContract,
} from "@flashstock/testing/hostile/contract";
import type { Json } from "@flashstock/testing/hostile/json";
import {
  BAD_IDEMPOTENCY_KEYS,
  badAuthorizations,
  cursorOf,
  JUNK_SEGMENTS,
  SQL,
} from "@flashstock/testing/hostile/values";
import {
  ACCESS,
  BODY_ROUTES,
  fillPath,
  fromTemplate,
  LIST_ROUTES,
  paramNames,
  ROUTES_WITH_PARAMS,
  type RouteKey,
  routeKey,
  routeOf,
  useWorld,
  validBody,
} from "@flashstock/testing/hostile/world";
import { reportScenario } from "@flashstock/testing/scenario";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HttpRoute, routes } from "../../../infra/topology.ts";

const t = useDatabase({ poolSize: 5 });
const w = useWorld(t);
const { sendChecked, sendEach } = useContract(t);

/** Routes as rows of a table: `$key` names the route in a test's name. */
const rows = (list: readonly HttpRoute[]) => list.map((route) => ({ route, key: routeKey(route) }));

describe("paths and methods", () => {
  it.each(rows(ROUTES_WITH_PARAMS))(
    "rejects percent-encoding junk, NUL, very long and SQL-looking path parameters of $key with 400",
    async ({ route }) => {
      // Prepare: one parameter spoiled at a time, the others valid.
      const cases = paramNames(route.path).flatMap((param) =>
        [...JUNK_SEGMENTS, ...SQL.map(encodeURIComponent)].map((junk) => ({
          req: fromTemplate(w, route, {
            segment: (name) => (name === param ? junk : undefined),
          }),
        })),
      );

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) {
        expect(res.status, describeRequest(req)).toBe(400);
        expect(["MALFORMED_PATH", "VALIDATION_FAILED"], describeRequest(req)).toContain(
          res.body.error.code,
        );
      }
    },
  );

  // Methods API Gateway knows, one in lower case, and one nobody knows. Not OPTIONS: the gateway
  // answers it on every route's path as a CORS preflight (cors.test.ts).
  const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "TRACE", "get", "FOO"];
  const PATHS = [...new Set(routes.map((r) => r.path))].map((path) => {
    const allowed = routes.filter((r) => r.path === path).map((r) => r.method as string);
    return { path, allowed, allow: allowed.join(", ") };
  });

  it.each(PATHS)(
    "answers $path with 405 METHOD_NOT_ALLOWED and Allow: $allow for any other method, known or not",
    async ({ path, allowed }) => {
      // Prepare: an admin's token, so that only the method can be wrong.
      const cases = METHODS.filter((method) => !allowed.includes(method)).map((method) => ({
        req: {
          method,
          url: fillPath(path, (name) => (name === "sku" ? w.sku : w.cartId)),
          headers: { authorization: `Bearer ${w.users.admin.token}` },
        } as Sent,
      }));

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) {
        expectRefused(req, res, 405, "METHOD_NOT_ALLOWED");
        expect(res.headers.allow?.split(", ").sort()).toEqual([...allowed].sort());
      }
    },
  );

  const UNKNOWN_PATHS = [
    "/nope",
    "/products/",
    "/products/a/b",
    "/PRODUCTS",
    "/health/",
    "//health",
    "/carts//items/x",
    `/${"a".repeat(100_000)}`,
    "/%zz",
    "/orders/%00/cancel/x",
    "/../health",
  ].map((url) => ({ url, shown: JSON.stringify(clip(url, 40)) }));

  it.each(UNKNOWN_PATHS)("answers GET $shown with 404 NOT_FOUND", async ({ url }) => {
    // Prepare
    const req: Sent = { method: "GET", url, headers: {} };

    // Act
    const res = await sendChecked(req);

    // Assess
    expectRefused(req, res, 404, "NOT_FOUND");
  });

  it.each(["'; DROP TABLE orders;--", "1 OR 1=1", "A' OR 'A'='A"])(
    "rejects the SKU %s in a path with 400 VALIDATION_FAILED from the SKU pattern",
    async (sku) => {
      // Act
      const res = await call("GET", `/products/${encodeURIComponent(sku)}`);

      // Assess
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({
        code: "VALIDATION_FAILED",
        details: { in: "path", issues: [{ path: "sku" }] },
      });
    },
  );
});

describe("queries and cursors", () => {
  const BAD_PAGING = [
    "limit=-1",
    "limit=0",
    "limit=0.5",
    "limit=1e308",
    "limit=9007199254740993",
    "limit=NaN",
    "limit=Infinity",
    "limit=abc",
    "limit=1&limit=2",
    "limit=",
    `cursor=${"A".repeat(501)}`,
    "cursor=%00",
  ];
  const BAD_QUERIES: { key: RouteKey; queries: string[] }[] = [
    {
      key: "GET /products",
      queries: [
        ...BAD_PAGING,
        "q=%00",
        "q=a%00b",
        "category=%00",
        `q=${"a".repeat(201)}`,
        "q=%20%20",
      ],
    },
    {
      key: "GET /orders",
      queries: [
        ...BAD_PAGING,
        "status=' OR 1=1 --",
        "status=PLACED",
        "status=placed&status=cancelled",
      ],
    },
    { key: "GET /inventory/{sku}/movements", queries: BAD_PAGING },
    { key: "GET /inventory", queries: ["low=1", "low=TRUE", "low=true&low=true"] },
  ];

  it.each(BAD_QUERIES)(
    "rejects out-of-range, malformed and NUL query parameters on $key with 400 VALIDATION_FAILED",
    async ({ key, queries }) => {
      // Prepare
      const cases = queries.map((query) => ({ req: fromTemplate(w, routeOf(key), { query }) }));

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) expectRefused(req, res, 400, "VALIDATION_FAILED");
    },
  );

  const uuid = randomUUID();
  // Sort keys of the wrong shape for each list: its cursor is the JSON of its sort key.
  const FORGED_CURSORS: { key: RouteKey; sortKeys: unknown[] }[] = [
    {
      key: "GET /products",
      sortKeys: [[1], ["a", "b"], [null], [], {}, null, ["a\u0000"], ["\u0000"], [["x"]]],
    },
    {
      key: "GET /inventory/{sku}/movements",
      sortKeys: [[1e300], [1e20], [2 ** 63], [2 ** 53], [0.5], ["1"], ["' OR 1=1 --"], [], null],
    },
    {
      key: "GET /orders",
      sortKeys: [
        ["0000-01-01T00:00:00Z", uuid],
        ["2024-02-30T00:00:00Z", uuid],
        ["not a date", uuid],
        ["2024-01-01T00:00:00Z", "not-a-uuid"],
        ["2024-01-01T00:00:00Z", "'; DROP TABLE orders;--"],
        ["2024-01-01T00:00:00Z\u0000", uuid],
        ["2024-01-01T00:00:00Z"],
        [1, 2],
      ],
    },
  ];

  it.each(FORGED_CURSORS)(
    "rejects cursors on $key that it never issued with 400 INVALID_CURSOR, whatever they decode to",
    async ({ key, sortKeys }) => {
      // Prepare
      const route = routeOf(key);
      const cases = [
        ...sortKeys.map((k) => `cursor=${cursorOf(k)}`),
        "cursor=!!!",
        `cursor=${"_".repeat(100)}`,
      ].map((query) => ({ req: fromTemplate(w, route, { query }) }));

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) expectRefused(req, res, 400, "INVALID_CURSOR");
    },
  );

  it("answers any cursor on the list routes with 200 or a 400, never a 500", async () => {
    // Prepare
    const request = fc
      .tuple(fc.constantFrom(...LIST_ROUTES), cursor)
      .map(([route, c]) =>
        fromTemplate(w, route, { query: new URLSearchParams({ cursor: c }).toString() }),
      );

    // Act + Assess
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        const res = await sendChecked(req);
        expect([200, 400], describeRequest(req)).toContain(res.status);
        if (res.status === 400) {
          expect(["INVALID_CURSOR", "VALIDATION_FAILED"]).toContain(res.body.error.code);
        }
      }),
      { numRuns: 200 },
    );
  });

  it.each(["zq'; DROP TABLE orders;--", "zq1 OR 1=1", "%' OR 1=1; DROP TABLE stock;--"])(
    "answers the search %s with 200 and no rows, and leaves every table intact",
    async (q) => {
      // Prepare: a string that no product contains (checked against the database, literally).
      const { rows: containing } = await t.db.query(
        `SELECT sku FROM products
          WHERE strpos(lower(name), lower($1)) > 0 OR strpos(lower(description), lower($1)) > 0
             OR strpos(lower(sku), lower($1)) > 0`,
        [q],
      );
      const before = await tablesSnapshot(t.db);

      // Act
      const res = await call("GET", `/products?${new URLSearchParams({ q, limit: "100" })}`);

      // Assess
      expect(containing).toEqual([]);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [], nextCursor: null });
      expect(await tablesSnapshot(t.db)).toEqual(before);
    },
  );
});

describe("authorization headers", () => {
  it.each(rows(routes.filter((route) => ACCESS[routeKey(route)] !== "public")))(
    "rejects every malformed, forged, expired or foreign bearer token on $key with 401 UNAUTHENTICATED",
    async ({ route }) => {
      // Prepare
      const cases = badAuthorizations(w).map((auth) => ({
        req: fromTemplate(w, route, { role: null, headers: { authorization: auth } }),
      }));

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) expectRefused(req, res, 401, "UNAUTHENTICATED");
    },
  );

  it.each(rows(routes.filter((route) => ACCESS[routeKey(route)] === "public")))(
    "ignores the Authorization header on $key, even a hostile one",
    async ({ route }) => {
      // Prepare: no body, so that register and login fail validation instead of hashing passwords.
      const cases = badAuthorizations(w).map((auth) => ({
        req: {
          ...fromTemplate(w, route, { role: null, headers: { authorization: auth } }),
          body: undefined,
        },
      }));

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) expect(res.status, describeRequest(req)).not.toBe(401);
    },
  );
});

describe("the Idempotency-Key header", () => {
  // One cart for every case: a good key checks it out (the last test), so a refusal is about the
  // key alone.
  let customer: TestUser;
  let cartId: string;
  beforeAll(async () => {
    customer = await createUser(t.db, "customer");
    const product = await createTestProduct(t.db, { available: 3 });
    cartId = await cartWith(customer, { [product.sku]: 1 });
  });

  const checkoutWith = (key: string | undefined): Sent => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${customer.token}`,
      "content-type": "application/json",
    };
    if (key !== undefined) headers["idempotency-key"] = key;
    return {
      method: "POST",
      url: "/checkout",
      headers,
      body: JSON.stringify({ cartId, shippingAddress: address, payment: cashOnDelivery }),
    };
  };

  const BAD_KEYS = [
    ...Object.entries(BAD_IDEMPOTENCY_KEYS).map(([label, key]) => ({ label, key })),
    { label: "missing", key: undefined },
  ];

  it.each(BAD_KEYS)(
    "refuses a checkout whose Idempotency-Key is $label with 400 VALIDATION_FAILED and places no order",
    async ({ key }) => {
      // Prepare
      const req = checkoutWith(key);

      // Act: sendChecked finds every table unchanged, the orders included.
      const res = await sendChecked(req);

      // Assess
      expectRefused(req, res, 400, "VALIDATION_FAILED");
      expect(res.body.error.details.in).toBe("header idempotency-key");
    },
  );

  it("places the order of that same cart with a 255-character key, the longest allowed", async () => {
    // Act
    const res = await sendChecked(checkoutWith("a".repeat(255)));

    // Assess
    expect(res.status).toBe(201);
    const { rows: placed } = await t.db.query(
      "SELECT count(*)::int AS n FROM orders WHERE cart_id = $1",
      [cartId],
    );
    expect(placed[0]).toEqual({ n: 1 });
  });
});

describe("content-type, encoding and size abuse of the headers", () => {
  // API Gateway joins a repeated header's values with commas.
  const ABUSE: {
    name: string;
    headers: Record<string, string>;
    body?: (valid: Json) => Buffer;
  }[] = [
    {
      name: "a duplicated content-type",
      headers: { "content-type": "application/json,application/json" },
    },
    {
      name: "json and text content-types",
      headers: { "content-type": "application/json, text/plain" },
    },
    {
      name: "text then json content-types",
      headers: { "content-type": "text/plain,application/json" },
    },
    {
      name: "a content-type with a NUL",
      headers: { "content-type": "application/json\u0000; charset=utf-8" },
    },
    {
      name: "a content-type with a CRLF",
      headers: { "content-type": "application/json\r\nX-Injected: 1" },
    },
    {
      name: "a gzip-encoded body",
      headers: { "content-encoding": "gzip" },
      body: (valid) => gzipSync(Buffer.from(JSON.stringify(valid))),
    },
    {
      name: "a gzip-encoded 1 MB body",
      headers: { "content-encoding": "gzip" },
      body: (valid) =>
        gzipSync(Buffer.from(JSON.stringify({ ...valid, pad: "x".repeat(1024 * 1024) }))),
    },
    {
      // Valid JSON that claims to be compressed must not be taken at face value either.
      name: "plain JSON labelled gzip",
      headers: { "content-encoding": "gzip" },
    },
  ];
  const sent = { abused: 0, ignored: 0 };
  afterAll(() => {
    if (!sent.abused && !sent.ignored) return;
    reportScenario("hostile input: header abuse", {
      injected: `${sent.abused} body requests with ${ABUSE.length} kinds of content-type/encoding abuse (${ABUSE.map((a) => a.name).join(", ")}); ${sent.ignored} requests, one per route, with a 1 MB header, a 50 KB cookie, a 100 KB content-type and hostile user-agent and forwarding headers`,
      checked: `all ${sent.abused} 400 with their documented code and nothing written; the ${sent.ignored} others answered below 500 with documented codes`,
    });
  });

  it.each(ABUSE)(
    "answers $name on every route that reads a body with 400 UNSUPPORTED_MEDIA_TYPE",
    async ({ headers, body }) => {
      // Prepare
      const cases = BODY_ROUTES.map((route) => ({
        req: fromTemplate(w, route, {
          headers,
          ...(body ? { body: body(validBody(w, route)) } : {}),
        }),
      }));

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) expectRefused(req, res, 400, "UNSUPPORTED_MEDIA_TYPE");
      sent.abused += cases.length;
    },
  );

  it.each(rows(routes))(
    "ignores huge and hostile headers it does not read on $key: a documented answer, whatever they hold",
    async ({ route }) => {
      // Prepare
      const req = fromTemplate(w, route, {
        headers: {
          "x-junk": "a".repeat(1024 * 1024),
          "user-agent": "\u0000\uD800'; DROP TABLE users;--",
          "x-forwarded-for": "127.0.0.1, ' OR 1=1",
          cookie: `session=${"c".repeat(50_000)}`,
          "content-type": `application/json; ${"x".repeat(100_000)}`,
        },
      });

      // Act + Assess: sendChecked holds it to the contract.
      await sendChecked(req);
      sent.ignored++;
    },
  );
});

describe("the stock ledger", () => {
  it("stays consistent after every hostile request above", async () => {
    // Act + Assess: the SKUs the requests acted on are there, and every ledger identity holds.
    expect((await checkLedger(t.db)).length).toBeGreaterThan(0);
    await expectLedgerConsistent(t.db);
  });
});
