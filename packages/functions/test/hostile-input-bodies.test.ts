/**
 * Hostile bodies, case by case, on every route that reads one: numbers no field can hold, strings
 * past every limit, bodies that are not JSON or not an object, wrong JSON types, JSON operator
 * objects, prototype keys, SQL, and valid but strange Unicode. Each refused request gets a 4xx with
 * a documented error code and writes nothing (useContract checks every table after each); what is
 * accepted is stored exactly as sent.
 */
import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import {
  checkLedger,
  expectLedgerConsistent,
  useDatabase,
  WRITABLE_TABLES,
} from "@flashstock/testing/database";
import {
  cartWith,
  checkout,
  createTestProduct,
  createUser,
  PASSWORD,
} from "@flashstock/testing/fixtures";
import { longString } from "@flashstock/testing/hostile/arbitraries";
import {
  describeRequest,
  expectRefused,
  MAX_BODY_BYTES,
  type Sent,
  useContract,
} from "@flashstock/testing/hostile/contract";
import {
  type JsonType,
  nodeAt,
  objectPaths,
  setOwn,
  stringFields,
  typedFields,
  withField,
} from "@flashstock/testing/hostile/json";
import { CONTENT_TYPES, MALFORMED_JSON, SQL } from "@flashstock/testing/hostile/values";
import {
  BODY_ROUTES,
  fromTemplate,
  hashesPasswords,
  type RouteKey,
  routeKey,
  routeOf,
  useWorld,
  validBody,
} from "@flashstock/testing/hostile/world";
import { reportScenario } from "@flashstock/testing/scenario";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";

const t = useDatabase({ poolSize: 5 });
const w = useWorld(t);
const { sendChecked, sendEach } = useContract(t);

/** The routes that read a body, as rows of a table: `$key` names the route in a test's name. */
const BODY = BODY_ROUTES.map((route) => ({ route, key: routeKey(route) }));

/** The headers of a stock manager sending JSON. */
const asStockManager = () => ({
  authorization: `Bearer ${w.users.stock_manager.token}`,
  "content-type": "application/json",
});

const issuePaths = (res: { body: { error: { details: { issues: { path: string }[] } } } }) =>
  res.body.error.details.issues.map((i) => i.path);

describe("numbers", () => {
  const NUMERIC_FIELDS: { route: RouteKey; field: string; max: number; zero: boolean }[] = [
    { route: "PUT /carts/{id}/items/{sku}", field: "quantity", max: 10_000, zero: true },
    { route: "POST /inventory/{sku}/adjustments", field: "delta", max: 1e9, zero: false },
    { route: "PUT /inventory/{sku}", field: "minQuantity", max: 1e9, zero: true },
    { route: "POST /products", field: "priceCents", max: 1e9, zero: true },
    { route: "POST /products", field: "available", max: 1e9, zero: true },
    { route: "POST /products", field: "minQuantity", max: 1e9, zero: true },
    { route: "PATCH /products/{sku}", field: "priceCents", max: 1e9, zero: true },
  ];
  // JSON text as sent: some of these are not JSON at all (NaN, 0x10, 01), some parse to values no
  // quantity can be (Infinity from 1e400, 2^53, fractions), some are the wrong type.
  const NEVER_VALID = [
    "-1",
    "-0.5",
    "0.5",
    "1.5",
    "1e-7",
    "5e-324",
    "1e308",
    "-1e308",
    "1e400",
    "-1e400",
    "9007199254740992",
    "9007199254740993",
    "2147483648",
    "1e21",
    "NaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "0x10",
    "01",
    "+1",
    ".5",
    "1.",
    "1e",
    "1_000",
    '"1"',
    '"NaN"',
    "null",
    "true",
    "[1]",
    "{}",
  ];

  const parses = (text: string) => {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  };

  it.each(NUMERIC_FIELDS)(
    "rejects negative, fractional, huge and NaN-like numbers, and zero where it means nothing, as $field of $route with 400 naming the field",
    async ({ route: key, field, max, zero }) => {
      // Prepare: the literal goes in as text, since most of these have no JavaScript spelling.
      const route = routeOf(key);
      const literals = [...NEVER_VALID, String(max + 1), ...(zero ? [] : ["0", "-0"])];
      const cases = literals.map((literal) => {
        const body = JSON.stringify({ ...validBody(w, route), [field]: "__NUMBER__" }).replace(
          '"__NUMBER__"',
          literal,
        );
        return { req: fromTemplate(w, route, { body }), json: parses(body) };
      });

      // Act
      const answers = await sendEach(cases);

      // Assess: what is not JSON at all cannot name a field.
      for (const { req, res, json } of answers) {
        const label = describeRequest(req);
        expect(res.status, label).toBe(400);
        if (!json) expect(res.body.error.code, label).toBe("MALFORMED_JSON");
        else {
          expect(res.body.error.code, label).toBe("VALIDATION_FAILED");
          expect(issuePaths(res), label).toContain(field);
        }
      }
    },
  );

  it("rejects an adjustment that would take stock past the ceiling with STOCK_LIMIT_EXCEEDED, changing nothing", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 999_999_999 });

    // Act
    const res = await sendChecked(
      fromTemplate(w, routeOf("POST /inventory/{sku}/adjustments"), {
        segment: () => product.sku,
        body: JSON.stringify({ delta: 2, reason: "restock" }),
      }),
    );

    // Assess
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("STOCK_LIMIT_EXCEEDED");
  });
});

describe("strings and sizes", () => {
  it("rejects strings of 10k to 100k characters in any text field with 400, or 413 past the body limit", async () => {
    // Prepare
    const fields = BODY_ROUTES.flatMap((route) =>
      stringFields(validBody(w, route)).map((at) => ({ route, at })),
    );
    const target = fc.oneof(
      fc.constantFrom(...fields).map((f) => ({ kind: "body" as const, ...f })),
      fc.constantFrom(
        { kind: "query" as const, key: "q" },
        { kind: "query" as const, key: "category" },
        { kind: "query" as const, key: "cursor" },
        { kind: "path" as const },
        { kind: "idempotency-key" as const },
      ),
    );

    // Act + Assess
    await fc.assert(
      fc.asyncProperty(target, longString, async (where, text) => {
        let req: Sent;
        let expected: [number, string];
        if (where.kind === "body") {
          const body = JSON.stringify(withField(validBody(w, where.route), where.at, text));
          req = fromTemplate(w, where.route, { body });
          expected =
            Buffer.byteLength(body) > MAX_BODY_BYTES
              ? [413, "BODY_TOO_LARGE"]
              : [400, "VALIDATION_FAILED"];
        } else if (where.kind === "query") {
          req = fromTemplate(w, routeOf("GET /products"), {
            query: new URLSearchParams({ [where.key]: text }).toString(),
          });
          expected = [400, "VALIDATION_FAILED"];
        } else if (where.kind === "path") {
          req = fromTemplate(w, routeOf("GET /products/{sku}"), {
            segment: () => encodeURIComponent(text),
          });
          expected = [400, "VALIDATION_FAILED"];
        } else {
          req = fromTemplate(w, routeOf("POST /checkout"), {
            headers: { "idempotency-key": text },
          });
          expected = [400, "VALIDATION_FAILED"];
        }
        const res = await sendChecked(req);
        expect([res.status, res.body.error?.code], describeRequest(req)).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it.each(BODY)(
    "rejects a 1 MB body sent to $key with 413 BODY_TOO_LARGE, whatever its content type",
    async ({ route }) => {
      // Prepare
      const megabyte = JSON.stringify({ name: "x".repeat(1024 * 1024) });
      const cases = [
        { req: fromTemplate(w, route, { body: megabyte }) },
        {
          req: fromTemplate(w, route, {
            body: megabyte,
            headers: { "content-type": "text/plain" },
          }),
        },
        {
          req: fromTemplate(w, route, {
            body: Buffer.alloc(1024 * 1024, 0xff),
            headers: { "content-type": "application/octet-stream" },
          }),
        },
      ];

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) {
        expectRefused(req, res, 413, "BODY_TOO_LARGE");
        expect(res.body.error.details.limit).toBe(MAX_BODY_BYTES);
      }
    },
  );

  it.each(BODY)(
    "rejects deeply nested JSON sent to $key with 400, not a crash",
    async ({ route }) => {
      // Prepare: deeper than a recursive walk survives, yet under the body limit.
      const cases = [
        "[".repeat(32_000) + "]".repeat(32_000),
        `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`,
        `{"name":${"[".repeat(20_000)}"\\u0000"${"]".repeat(20_000)}}`,
      ].map((body) => ({ req: fromTemplate(w, route, { body }) }));

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) expectRefused(req, res, 400, "VALIDATION_FAILED");
    },
  );

  it.each(BODY)(
    "rejects malformed JSON sent to $key with 400 MALFORMED_JSON",
    async ({ route }) => {
      // Prepare
      const cases = MALFORMED_JSON.map((body) => ({ req: fromTemplate(w, route, { body }) }));

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) expectRefused(req, res, 400, "MALFORMED_JSON");
    },
  );

  it.each(BODY)(
    "rejects a body sent to $key under a content type that is not JSON with 400 UNSUPPORTED_MEDIA_TYPE",
    async ({ route }) => {
      // Prepare: the valid body, so that only the content type is wrong.
      const cases = CONTENT_TYPES.map((type) => ({
        req: fromTemplate(w, route, { headers: { "content-type": type } }),
      }));

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) expectRefused(req, res, 400, "UNSUPPORTED_MEDIA_TYPE");
    },
  );

  it.each(BODY)(
    "rejects a missing or empty body, null, {}, [] and a bare string sent to $key with 400 VALIDATION_FAILED",
    async ({ route }) => {
      // Prepare
      const cases = [
        { req: { ...fromTemplate(w, route), body: undefined } },
        ...["", "null", "{}", "[]", '"text"'].map((body) => ({
          req: fromTemplate(w, route, { body }),
        })),
      ];

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) expectRefused(req, res, 400, "VALIDATION_FAILED");
    },
  );

  it.each(BODY)(
    "rejects a body sent to $key with a field the schema does not have with 400 VALIDATION_FAILED",
    async ({ route }) => {
      // Prepare: fields the server owns, and prototype keys; a template that has one keeps it.
      const body = validBody(w, route);
      const cases = ["role", "id", "customerId", "status", "available", "__proto__", "constructor"]
        .filter((key) => !Object.hasOwn(body, key))
        .map((key) => {
          const copy = structuredClone(body);
          setOwn(copy, key, key === "__proto__" ? { role: "admin" } : "admin");
          return { req: fromTemplate(w, route, { body: JSON.stringify(copy) }) };
        });

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) expectRefused(req, res, 400, "VALIDATION_FAILED");
    },
  );

  it.each(BODY)(
    "rejects NUL or a lone surrogate in any string of a body sent to $key with 400 VALIDATION_FAILED",
    async ({ route }) => {
      // Prepare
      const body = validBody(w, route);
      const cases = stringFields(body).flatMap((at) =>
        ["x\u0000", "\uD800", "a\uDFFF"].map((bad) => ({
          req: fromTemplate(w, route, { body: JSON.stringify(withField(body, at, bad)) }),
        })),
      );

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) expectRefused(req, res, 400, "VALIDATION_FAILED");
    },
  );

  it("rejects a product name with a NUL character with 400 VALIDATION_FAILED and creates nothing", async () => {
    // Prepare
    const sku = `NUL-${randomUUID().slice(0, 8)}`;
    const body = { sku, name: "Bad\u0000Name", priceCents: 100, available: 1, minQuantity: 0 };

    // Act
    const res = await sendChecked({
      method: "POST",
      url: "/products",
      headers: asStockManager(),
      body: JSON.stringify(body),
    });

    // Assess
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(res.body.error.details).toMatchObject({ in: "body", issues: [{ path: "name" }] });
    expect((await call("GET", `/products/${sku}`)).status).toBe(404);
  });
});

describe("wrong JSON types", () => {
  const WRONG_TYPES: Partial<Record<JsonType, unknown[]>> = {
    string: [1, 0, true, null, [], ["x"], {}],
    number: ["1", "", true, null, [], [1], {}],
    array: ["x", 1, true, null, {}],
    object: ["x", 1, true, null, [], [{}]],
  };
  const sent = { bodies: 0, routes: 0 };
  afterAll(() => {
    if (!sent.bodies) return;
    reportScenario("hostile input: wrong JSON types", {
      injected: `${sent.bodies} bodies, each with one field of ${sent.routes} routes given a value of another JSON type`,
      checked: `all ${sent.bodies} 400 VALIDATION_FAILED naming the field, every table unchanged after each`,
    });
  });

  it.each(BODY)(
    "rejects a value of the wrong JSON type in any field of a body sent to $key with 400 VALIDATION_FAILED naming that field",
    async ({ route }) => {
      // Prepare: attribute values may be strings, numbers or booleans; a category may be null,
      // and so may an address's line2 (storefronts send either) and a promotion's limits (null:
      // no limit).
      const body = validBody(w, route);
      const nullable = ["category", "shippingAddress.line2", "usageLimit", "perCustomerLimit"];
      const cases = typedFields(body)
        .filter(({ at }) => !(at[0] === "attributes" && at.length > 1))
        .flatMap(({ at, type }) =>
          (WRONG_TYPES[type] ?? [])
            .filter((wrong) => !(nullable.includes(at.join(".")) && wrong === null))
            .map((wrong) => ({
              req: fromTemplate(w, route, { body: JSON.stringify(withField(body, at, wrong)) }),
              field: at.join("."),
            })),
        );

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res, field } of answers) {
        expectRefused(req, res, 400, "VALIDATION_FAILED");
        expect(issuePaths(res), describeRequest(req)).toContain(field);
      }
      sent.bodies += cases.length;
      sent.routes++;
    },
  );
});

describe("JSON operator injection", () => {
  const OPERATORS = [{ $ne: null }, { $gt: "" }, { $regex: ".*" }, { $where: "1 == 1" }];
  const sent = { bodies: 0 };
  afterAll(() => {
    if (!sent.bodies) return;
    reportScenario("hostile input: JSON operator injection", {
      injected: `${sent.bodies} bodies with {$ne: null}, {$gt: ''}, {$regex}, {$where} in place of a string, login's email and password included`,
      checked: `all ${sent.bodies} 400 VALIDATION_FAILED, no token issued, every table unchanged after each`,
    });
  });

  it.each(BODY)(
    "treats operator objects ({$ne: null}, {$gt: ''}) in any string field of a body sent to $key as the wrong type: 400, and no token",
    async ({ route }) => {
      // Prepare
      const body = validBody(w, route);
      const cases = stringFields(body).flatMap((at) =>
        OPERATORS.map((op) => ({
          req: fromTemplate(w, route, { body: JSON.stringify(withField(body, at, op)) }),
        })),
      );

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) {
        expectRefused(req, res, 400, "VALIDATION_FAILED");
        // No session issued (a field may itself be named token: only its value would be one).
        expect(res.body).not.toHaveProperty("token");
        expect(res.body).not.toHaveProperty("refreshToken");
      }
      sent.bodies += cases.length;
    },
  );

  it("refuses a login whose email and password are operator objects with 400, issuing no token", async () => {
    // Prepare: the classic bypass, matching any user, and any password of a known user.
    const login = routeOf("POST /auth/login");
    const cases = [
      { email: { $ne: null }, password: { $ne: null } },
      { email: w.users.admin.email, password: { $gt: "" } },
    ].map((body) => ({ req: fromTemplate(w, login, { body: JSON.stringify(body) }) }));

    // Act
    const answers = await sendEach(cases);

    // Assess
    for (const { req, res } of answers) {
      expectRefused(req, res, 400, "VALIDATION_FAILED");
      expect(res.text).not.toContain("token");
    }
    sent.bodies += cases.length;
  });
});

describe("prototype keys", () => {
  const PAYLOADS: [string, unknown][] = [
    ["__proto__", { polluted: "yes", role: "admin" }],
    ["__proto__", "polluted"],
    ["constructor", { prototype: { polluted: "yes" } }],
    ["prototype", { polluted: "yes" }],
  ];
  const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();
  const sent = { bodies: 0 };
  afterAll(() => {
    if (!sent.bodies) return;
    reportScenario("hostile input: prototype pollution", {
      injected: `${sent.bodies} bodies with __proto__, constructor.prototype or prototype keys at every object of every body (the product attributes included)`,
      checked:
        "all 400 VALIDATION_FAILED, every table unchanged after each, Object.prototype unchanged and {}.polluted undefined",
    });
  });

  it.each(BODY)(
    "never lets a body sent to $key set a prototype: __proto__ and constructor.prototype keys in any of its objects are refused with 400, and Object.prototype stays clean",
    async ({ route }) => {
      // Prepare
      const keysBefore = prototypeKeys();
      const body = validBody(w, route);
      const cases = objectPaths(body).flatMap((at) =>
        PAYLOADS.map(([key, value]) => {
          const copy = structuredClone(body);
          setOwn(nodeAt(copy, at) as Record<string, unknown>, key, value);
          return { req: fromTemplate(w, route, { body: JSON.stringify(copy) }) };
        }),
      );

      // Act
      const answers = await sendEach(cases);

      // Assess
      for (const { req, res } of answers) expectRefused(req, res, 400, "VALIDATION_FAILED");
      expect(prototypeKeys()).toEqual(keysBefore);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).role).toBeUndefined();
      sent.bodies += cases.length;
    },
  );

  it("refuses an attribute named __proto__ with 400 rather than dropping it silently", async () => {
    // Prepare: written by hand, since JSON.stringify would not send a __proto__ key.
    const sku = `PROTO-${randomUUID().slice(0, 8)}`;
    const body = `{"sku":"${sku}","name":"Proto","priceCents":1,"available":1,"minQuantity":0,"attributes":{"colour":"red","__proto__":"evil"}}`;

    // Act
    const res = await sendChecked({
      method: "POST",
      url: "/products",
      headers: asStockManager(),
      body,
    });

    // Assess
    expect([res.status, res.body.error?.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(res.body.error.details.issues).toEqual([
      expect.objectContaining({ path: "attributes.__proto__" }),
    ]);
    expect((await call("GET", `/products/${sku}`)).status).toBe(404);
  });
});

describe("SQL-looking strings", () => {
  it.each(BODY)(
    "treats SQL-looking strings in any field of a body sent to $key as data: a documented answer, and the tables intact",
    async ({ route }) => {
      // Prepare: register, login and staff only get them as the email: anywhere else they are a
      // valid password or name, and each case would pay for a scrypt hash.
      const body = validBody(w, route);
      const cases = stringFields(body)
        .filter((at) => !hashesPasswords(route) || at.join(".") === "email")
        .flatMap((at) =>
          SQL.map((sql) => ({
            req: fromTemplate(w, route, { body: JSON.stringify(withField(body, at, sql)) }),
          })),
        );

      // Act: any documented answer will do, and sendEach holds each to the contract.
      await sendEach(cases);

      // Assess
      const { rows } = await t.db.query<{ missing: string[] }>(
        "SELECT array_agg(name) FILTER (WHERE to_regclass(name) IS NULL) AS missing FROM unnest($1::text[]) name",
        [WRITABLE_TABLES],
      );
      expect(rows[0]?.missing).toBeNull();
    },
  );

  it("stores a SQL-looking product name verbatim", async () => {
    // Prepare
    const product = await createTestProduct(t.db);
    const name = "Robert'); DROP TABLE products;--";

    // Act
    const patched = await sendChecked({
      method: "PATCH",
      url: `/products/${product.sku}`,
      headers: asStockManager(),
      body: JSON.stringify({ name, description: "1 OR 1=1" }),
    });
    const read = await call("GET", `/products/${product.sku}`);

    // Assess
    expect(patched.status).toBe(200);
    expect(read.body).toMatchObject({ sku: product.sku, name, description: "1 OR 1=1" });
  });
});

describe("valid but strange Unicode", () => {
  it("accepts right-to-left overrides, combining characters, zero-width joiners and emoji in names and addresses, and returns them exactly as sent", async () => {
    // Prepare: valid Unicode that renders strangely; none of it is trimmed away (no edge spaces).
    const texts = {
      rtl: "Ann\u202Egpj.exe\u202C Smith",
      combining: "Cafe\u0301 Zo\u0308e Z\u0336a\u0337l\u0338g\u0335o",
      emoji: "👩‍👩‍👧‍👦 Famille 🇫🇷 ✈️",
      astral: "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱",
      invisible: "a\u200Bb\u200Dc\uFEFFd\u2060e",
      mixed: "שלום مرحبا Ωμέγα",
    };
    const sku = `UNI-${randomUUID().slice(0, 8)}`;
    const shippingAddress = {
      name: texts.rtl,
      line1: texts.emoji,
      line2: texts.invisible,
      city: texts.combining,
      postalCode: "75001",
      country: "FR",
    };

    // Act
    const product = await sendChecked({
      method: "POST",
      url: "/products",
      headers: asStockManager(),
      body: JSON.stringify({
        sku,
        name: texts.astral,
        description: `${texts.mixed} ${texts.combining}`,
        category: texts.emoji,
        attributes: { [texts.rtl]: texts.emoji },
        priceCents: 500,
        available: 5,
        minQuantity: 0,
      }),
    });
    const registered = await sendChecked({
      method: "POST",
      url: "/auth/register",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: `unicode-${randomUUID()}@example.com`,
        password: PASSWORD,
        name: texts.emoji,
      }),
    });
    const buyer = await createUser(t.db, "customer", texts.rtl);
    const placed = await checkout(
      buyer,
      await cartWith(buyer, { [sku]: 1 }),
      randomUUID(),
      shippingAddress,
    );
    const readProduct = await call("GET", `/products/${sku}`);
    const readOrder = await call("GET", `/orders/${placed.body.id}`, { token: buyer.token });
    const search = await call("GET", `/products?${new URLSearchParams({ q: "Zo\u0308e" })}`);

    // Assess
    expect(product.status).toBe(201);
    expect(readProduct.body).toMatchObject({
      name: texts.astral,
      description: `${texts.mixed} ${texts.combining}`,
      category: texts.emoji,
      attributes: { [texts.rtl]: texts.emoji },
    });
    expect(registered.status).toBe(201);
    expect(registered.body.user.name).toBe(texts.emoji);
    expect(placed.status).toBe(201);
    expect(readOrder.body.shippingAddress).toEqual(shippingAddress);
    expect(readOrder.body.lines).toEqual([expect.objectContaining({ sku, name: texts.astral })]);
    expect(search.body.items.map((p: { sku: string }) => p.sku)).toContain(sku);
    reportScenario("hostile input: valid but strange Unicode", {
      injected:
        "RTL overrides, combining marks, ZWJ emoji sequences, flags, astral letters, zero-width characters and mixed scripts in a product, a user name and a shipping address",
      checked:
        "201 each; product, user name and order address read back code unit for code unit; a search with a combining mark finds the product",
    });
  });
});

describe("the stock ledger", () => {
  it("stays consistent after every hostile body above", async () => {
    // Act + Assess: the SKUs the requests acted on are there, and every ledger identity holds.
    expect((await checkLedger(t.db)).length).toBeGreaterThan(0);
    await expectLedgerConsistent(t.db);
  });
});
