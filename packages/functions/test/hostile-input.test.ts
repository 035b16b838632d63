/**
 * Hostile input against every route of the topology, through the in-process API (the topology's
 * router, an API Gateway v2 event, the real handler module, a real Postgres). The contract under
 * test (issue 2): bad input always gets a 4xx with a documented error code, never a 500, and a
 * rejected request never writes anything.
 */
import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { issueToken, type Role } from "@flashstock/core/auth/index";
import { errorRegistry } from "@flashstock/core/error";
import { type ApiResponse, call } from "@flashstock/testing/api";
import {
  checkLedger,
  tablesSnapshot,
  useDatabase,
  WRITABLE_TABLES,
} from "@flashstock/testing/database";
import {
  address,
  cartWith,
  checkout,
  createTestProduct,
  createUser,
  PASSWORD,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { reportScenario } from "@flashstock/testing/scenario";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { type HttpRoute, routes } from "../../../infra/topology.ts";

const t = useDatabase({ poolSize: 5 });

// ---------------------------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------------------------

const DOCUMENTED_CODES = Object.keys(errorRegistry);

const MAX_BODY_BYTES = 64 * 1024;

const snapshot = () => tablesSnapshot(t.db);

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

const clip = (s: string, n = 240) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);

function describeRequest(req: Sent): string {
  const body = Buffer.isBuffer(req.body) ? `<${req.body.length} bytes>` : (req.body ?? "");
  return `${req.method} ${JSON.stringify(clip(req.url))} headers=${clip(
    JSON.stringify(req.headers),
  )} body=${JSON.stringify(clip(body))}`;
}

/** Makes fast-check print a counterexample as a short request line, not a 100k-character dump. */
const readable = (req: Sent): Sent =>
  Object.defineProperty(req, fc.toStringMethod, { value: () => describeRequest(req) });

const send = (req: Sent) => call(req.method, req.url, { headers: req.headers, rawBody: req.body });

/** A status below 500, and for a 4xx exactly `{error: {code, message, details?}}` with a documented code. */
function expectDocumented(req: Sent, res: ApiResponse): void {
  const label = `${describeRequest(req)} -> ${res.status} ${clip(res.text, 400)}`;
  expect(res.status, label).toBeGreaterThanOrEqual(200);
  expect(res.status, label).toBeLessThan(500);
  if (res.status < 400) return;
  expect(res.headers["content-type"], label).toMatch(/^application\/json/);
  expect(res.body, label).toBeTypeOf("object");
  expect(Object.keys(res.body ?? {}), label).toEqual(["error"]);
  const { error } = res.body;
  expect(error, label).toBeTypeOf("object");
  expect(error, label).not.toBeNull();
  expect(
    Object.keys(error).filter((k) => !["code", "message", "details"].includes(k)),
    label,
  ).toEqual([]);
  expect(DOCUMENTED_CODES, label).toContain(error.code);
  expect(error.message, label).toBeTypeOf("string");
  expect(error.message.length, label).toBeGreaterThan(0);
  if ("details" in error) {
    expect(error.details, label).toBeTypeOf("object");
    expect(error.details, label).not.toBeNull();
    expect(Array.isArray(error.details), label).toBe(false);
  }
}

/** Sends the request and holds it to the contract: documented outcome, and no write when rejected. */
async function sendChecked(req: Sent): Promise<ApiResponse> {
  const before = await snapshot();
  const res = await send(req);
  expectDocumented(req, res);
  if (res.status >= 400) {
    expect(
      await snapshot(),
      `${describeRequest(req)} was rejected (${res.status} ${res.body?.error?.code}) but wrote to the database`,
    ).toEqual(before);
  }
  return res;
}

/** `status CODE in` for a failure, the status alone for a success: what a response amounted to. */
const outcome = (res: ApiResponse) =>
  res.status >= 400
    ? `${res.status} ${res.body?.error?.code} ${res.body?.error?.details?.in ?? ""}`.trim()
    : String(res.status);

/** Collects the cases of a table that broke the contract, so that one run reports all of them. */
async function collectFailures(cases: Sent[], expectCase: (req: Sent, res: ApiResponse) => void) {
  const failures: string[] = [];
  for (const req of cases) {
    try {
      const res = await sendChecked(req);
      expectCase(req, res);
    } catch (err) {
      failures.push((err as Error).message.split("\n")[0] as string);
    }
  }
  return failures;
}

// ---------------------------------------------------------------------------------------------
// The world the requests act on, and one valid request per route
// ---------------------------------------------------------------------------------------------

const ROLES = ["customer", "stock_manager", "ops", "admin"] as const satisfies readonly Role[];

interface World {
  users: Record<Role, TestUser>;
  sku: string;
  otherSku: string;
  /** The customer's open cart, with both products in it. */
  cartId: string;
  anonymousCartId: string;
  closedCartId: string;
  orderId: string;
  expiredToken: string;
  wrongSecretToken: string;
}

let w: World;

beforeAll(async () => {
  const users = {} as Record<Role, TestUser>;
  for (const role of ROLES) users[role] = await createUser(t.db, role, `Fuzz ${role}`);
  const a = await createTestProduct(t.db, { sku: "FUZZ-A", available: 1000, minQuantity: 5 });
  const b = await createTestProduct(t.db, { sku: "FUZZ-B", available: 1000 });
  const cartId = await cartWith(users.customer, { [a.sku]: 1, [b.sku]: 2 });
  const closedCartId = await cartWith(users.customer, { [b.sku]: 1 });
  const placed = await checkout(users.customer, closedCartId);
  if (placed.status !== 201) throw new Error(`checkout: ${placed.status} ${placed.text}`);
  const anonymous = await call("POST", "/carts");
  const secret = process.env.JWT_SECRET as string;
  w = {
    users,
    sku: a.sku,
    otherSku: b.sku,
    cartId,
    anonymousCartId: anonymous.body.id,
    closedCartId,
    orderId: placed.body.id,
    expiredToken: await issueToken({ secret, ttlSeconds: -60 }, users.admin),
    wrongSecretToken: await issueToken(
      { secret: "not-the-secret-but-at-least-32-characters" },
      users.admin,
    ),
  };
});

type RouteKey = (typeof routes)[number] extends infer R
  ? R extends { method: infer M extends string; path: infer P extends string }
    ? `${M} ${P}`
    : never
  : never;
const routeKey = (route: HttpRoute) => `${route.method} ${route.path}` as RouteKey;

type Json = { [key: string]: unknown };

/** A request that passes authentication and validation (unless the world has moved on). */
interface Template {
  role?: Role;
  path?: Record<string, string>;
  query?: string;
  headers?: Record<string, string>;
  body?: Json;
}

/** Who may call a route, as the spec says. */
const ACCESS: Record<RouteKey, "public" | "optional" | "authenticated" | "roles"> = {
  "GET /health": "public",
  "POST /auth/register": "public",
  "POST /auth/login": "public",
  "POST /staff": "roles",
  "GET /products": "public",
  "POST /products": "roles",
  "GET /products/{sku}": "public",
  "PATCH /products/{sku}": "roles",
  "GET /inventory": "roles",
  "PUT /inventory/{sku}": "roles",
  "POST /inventory/{sku}/adjustments": "roles",
  "GET /inventory/{sku}/movements": "roles",
  "POST /carts": "optional",
  "GET /carts/{id}": "optional",
  "PUT /carts/{id}/items/{sku}": "optional",
  "DELETE /carts/{id}/items/{sku}": "optional",
  "POST /checkout": "roles",
  "GET /orders": "authenticated",
  "GET /orders/{id}": "authenticated",
  "POST /orders/{id}/cancel": "authenticated",
  "POST /orders/{id}/release": "roles",
};

function templates(): Record<RouteKey, Template> {
  const sku = { sku: w.sku };
  return {
    "GET /health": {},
    "POST /auth/register": {
      body: { email: "fuzz-register@example.com", password: PASSWORD, name: "Fuzz Register" },
    },
    "POST /auth/login": { body: { email: w.users.customer.email, password: PASSWORD } },
    "POST /staff": {
      role: "admin",
      body: { email: "fuzz-staff@example.com", password: PASSWORD, name: "Staff", role: "ops" },
    },
    "GET /products": { query: "limit=5&category=fuzz&q=FUZZ" },
    "POST /products": {
      role: "stock_manager",
      body: {
        sku: "FUZZ-NEW",
        name: "New product",
        description: "Made by the fuzzer",
        priceCents: 250,
        currency: "EUR",
        category: "fuzz",
        imageUrls: ["https://example.com/a.png"],
        attributes: { color: "red" },
        available: 5,
        minQuantity: 1,
      },
    },
    "GET /products/{sku}": { path: sku },
    "PATCH /products/{sku}": {
      role: "stock_manager",
      path: sku,
      body: {
        name: "Renamed",
        description: "Still the same thing",
        priceCents: 1000,
        currency: "EUR",
        category: "fuzz",
        imageUrls: ["https://example.com/b.png"],
        attributes: { size: "M" },
      },
    },
    "GET /inventory": { role: "stock_manager", query: "low=true" },
    "PUT /inventory/{sku}": { role: "stock_manager", path: sku, body: { minQuantity: 5 } },
    "POST /inventory/{sku}/adjustments": {
      role: "stock_manager",
      path: sku,
      body: { delta: 1, reason: "restock", note: "fuzz" },
    },
    "GET /inventory/{sku}/movements": { role: "stock_manager", path: sku, query: "limit=5" },
    "POST /carts": { role: "customer" },
    "GET /carts/{id}": { role: "customer", path: { id: w.cartId } },
    "PUT /carts/{id}/items/{sku}": {
      role: "customer",
      path: { id: w.cartId, sku: w.sku },
      body: { quantity: 1 },
    },
    "DELETE /carts/{id}/items/{sku}": {
      role: "customer",
      path: { id: w.anonymousCartId, sku: w.otherSku },
    },
    "POST /checkout": {
      role: "customer",
      headers: { "idempotency-key": "template-key" },
      body: { cartId: w.cartId, shippingAddress: { ...address, line2: "Flat 1" } },
    },
    "GET /orders": { role: "customer", query: "limit=5&status=placed" },
    "GET /orders/{id}": { role: "customer", path: { id: w.orderId } },
    "POST /orders/{id}/cancel": { role: "customer", path: { id: w.orderId } },
    "POST /orders/{id}/release": { role: "ops", path: { id: w.orderId } },
  };
}

const paramNames = (path: string) => [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);

function fillPath(path: string, segment: (name: string) => string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => segment(name));
}

/** The template as a request, with whatever the case overrides. */
function fromTemplate(
  route: HttpRoute,
  override: {
    segment?: (name: string) => string | undefined;
    query?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    role?: Role | null;
  } = {},
): Sent {
  const tpl = templates()[routeKey(route)];
  const path = fillPath(
    route.path,
    (name) => override.segment?.(name) ?? encodeURIComponent(tpl.path?.[name] ?? ""),
  );
  const query = override.query ?? tpl.query;
  const role = override.role === undefined ? tpl.role : override.role;
  const headers: Record<string, string> = { ...tpl.headers };
  if (tpl.body) headers["content-type"] = "application/json";
  if (role) headers.authorization = `Bearer ${w.users[role].token}`;
  if (headers["idempotency-key"]) headers["idempotency-key"] = randomUUID();
  Object.assign(headers, override.headers);
  return {
    method: route.method,
    url: query ? `${path}?${query}` : path,
    headers,
    body: override.body ?? (tpl.body ? JSON.stringify(tpl.body) : undefined),
  };
}

const routesWith = (predicate: (route: HttpRoute, tpl: Template) => boolean) =>
  routes.filter((route) => predicate(route, templates()[routeKey(route)]));
const bodyRoutes = () => routesWith((_, tpl) => tpl.body !== undefined);

/** Paths (as key lists) of every field of a JSON value, nested ones included. */
function fieldPaths(value: unknown, prefix: string[] = []): string[][] {
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [
    [...prefix, k],
    ...fieldPaths(v, [...prefix, k]),
  ]);
}

/** Paths of the objects (not arrays) inside a JSON value, the root included. */
function objectPaths(value: unknown, prefix: string[] = []): string[][] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return [];
  return [prefix, ...Object.entries(value).flatMap(([k, v]) => objectPaths(v, [...prefix, k]))];
}

function nodeAt(root: unknown, at: string[]): Record<string, unknown> | undefined {
  let node: unknown = root;
  for (const key of at) {
    node = node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node && typeof node === "object" ? (node as Record<string, unknown>) : undefined;
}

/** Sets an own property, even `__proto__`, so that JSON.stringify sends it. */
function setOwn(node: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}

function withField(body: Json, at: string[], value: unknown): Json {
  const copy = structuredClone(body);
  const parent = nodeAt(copy, at.slice(0, -1));
  if (parent) setOwn(parent, at.at(-1) as string, value);
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------------------------

const SQL = [
  "'; DROP TABLE orders;--",
  "1 OR 1=1",
  "' OR '1'='1",
  "1'; DELETE FROM stock WHERE '1'='1",
  '"; TRUNCATE users CASCADE; --',
  "%' OR 1=1 --",
  "1; SELECT pg_sleep(5)--",
  "' UNION SELECT password_hash FROM users--",
  "\\'; DROP TABLE products;--",
  "$1",
  "_%",
];

const SPECIAL_STRINGS = [
  "",
  " ",
  "\t\n",
  "\u0000",
  "a\u0000b",
  "\uD800",
  "x\uDFFFy",
  "\uDBFF\uDBFF",
  "\uFEFF",
  "\u202Eevil",
  "\u200B",
  "null",
  "undefined",
  "true",
  "-1",
  "NaN",
  "Infinity",
  "{}",
  "[]",
  "__proto__",
  "constructor",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
  "${7*7}",
  "%s%n%x",
  "😀".repeat(50),
  "Ω≈ç√ß",
  "\r\nX-Injected: 1",
];

/** Any UTF-16 code unit: NUL, controls and lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const nastyUnit = fc.oneof(
  codeUnit,
  fc.constantFrom("\u0000", "\uD800", "\uDC00", "'", '"', "\\", "%", "_", ";", "-", "/", "a", " "),
);

/** 10k to 100k characters: over every field's limit, and past the body limit at the top end. */
const longString = fc
  .record({
    length: fc.integer({ min: 10_000, max: 100_000 }),
    char: fc.constantFrom("a", "é", "😀", "'", "\u0000", "%"),
  })
  .map(({ length, char }) => char.repeat(length));

const hostileString = fc.oneof(
  fc.string(),
  // fast-check 4 spells the former fc.fullUnicodeString() as a string of "binary" units.
  fc.string({ unit: "binary" }),
  fc.string({ unit: codeUnit }),
  fc.string({ unit: nastyUnit }),
  fc.constantFrom(...SPECIAL_STRINGS, ...SQL),
  longString,
);

const HOSTILE_NUMBERS = [
  1e308,
  -1e308,
  -1,
  0,
  -0,
  0.5,
  -0.5,
  1.5,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31) - 1,
  1e9,
  1e9 + 1,
  10_000,
  10_001,
  1e21,
  1e-7,
  Number.MIN_VALUE,
  Number.EPSILON,
];
const hostileNumber = fc.oneof(
  fc.constantFrom(...HOSTILE_NUMBERS),
  fc.integer(),
  // NaN and the infinities go out as null: JSON has no spelling for them.
  fc.double(),
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  hostileString,
  fc.constantFrom(null, true, false, [], {}, [1], { $gt: "" }, "1", "0"),
  fc.jsonValue({ maxDepth: 3, stringUnit: nastyUnit }),
);

const UNKNOWN_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "role",
  "id",
  "customerId",
  "status",
  "available",
  "isAdmin",
  "",
];
const unknownKey = fc.oneof(fc.constantFrom(...UNKNOWN_KEYS), fc.string({ unit: nastyUnit }));

type Mutation =
  | { op: "set"; at: string[]; value: unknown }
  | { op: "delete"; at: string[] }
  | { op: "add"; at: string[]; key: string; value: unknown };

function applyMutations(body: Json, mutations: Mutation[]): unknown {
  const copy = structuredClone(body);
  for (const m of mutations) {
    const parent = nodeAt(copy, m.op === "add" ? m.at : m.at.slice(0, -1));
    if (!parent) continue;
    // Insert copies: fast-check hands out the same `{}` and `[]` constants on every draw, and a
    // later mutation may write into an inserted value, which would change the constant for all
    // later runs and can even put an object inside itself.
    if (m.op === "add") setOwn(parent, m.key, structuredClone(m.value));
    else if (m.op === "set") setOwn(parent, m.at.at(-1) as string, structuredClone(m.value));
    else Reflect.deleteProperty(parent, m.at.at(-1) as string);
  }
  return copy;
}

/** A valid body with one to three fields replaced by hostile values, removed, or added. */
function mutatedBody(valid: Json): fc.Arbitrary<string> {
  const fields = fieldPaths(valid);
  const objects = objectPaths(valid);
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant("set" as const),
        at: fc.constantFrom(...fields),
        value: hostileValue,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant("delete" as const), at: fc.constantFrom(...fields) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant("add" as const),
        at: fc.constantFrom(...objects),
        key: unknownKey,
        value: hostileValue,
      }),
    },
  );
  return fc
    .array(mutation, { minLength: 1, maxLength: 3 })
    .map((ms) => JSON.stringify(applyMutations(valid, ms)));
}

const MALFORMED_JSON = [
  "{",
  "}",
  '{"quantity":}',
  "{'quantity': 1}",
  "{quantity: 1}",
  "[1,]",
  '{"quantity": 1,}',
  "\uFEFF{}",
  "undefined",
  "NaN",
  "Infinity",
  '{"quantity": 01}',
  '{"quantity": +1}',
  '{"quantity": .5}',
  '{"quantity": 0x10}',
  '{"quantity": NaN}',
  "// comment\n{}",
  "/* comment */ {}",
  '{"a":1}{"a":2}',
  '"unterminated',
  "tru",
  '{"a":"\\x41"}',
  '{"a":"\\u12"}',
  '{"a":"\t"}',
  " ",
  "\u0000",
  '{"a":1}\u0000',
];

/** Nesting deep enough to exhaust a recursive walk, still under the 64 KB body limit. */
const deeplyNested = fc.oneof(
  fc.integer({ min: 1_000, max: 32_000 }).map((d) => "[".repeat(d) + "]".repeat(d)),
  fc.integer({ min: 1_000, max: 10_000 }).map((d) => `${'{"a":'.repeat(d)}1${"}".repeat(d)}`),
);

function rawBody(valid: Json | undefined): fc.Arbitrary<string | Buffer | undefined> {
  const anyBody: fc.WeightedArbitrary<string | Buffer | undefined>[] = [
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.json({ stringUnit: nastyUnit }) },
    { weight: 1, arbitrary: fc.anything().map((v) => fc.stringify(v)) },
    { weight: 1, arbitrary: hostileString },
    { weight: 1, arbitrary: fc.constantFrom(...MALFORMED_JSON) },
    { weight: 1, arbitrary: deeplyNested },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  ];
  return valid
    ? fc.oneof({ weight: 10, arbitrary: mutatedBody(valid) }, ...anyBody)
    : fc.oneof(...anyBody);
}

const cursorOf = (key: unknown) => Buffer.from(JSON.stringify(key)).toString("base64url");

const cursor = fc.oneof(
  fc.jsonValue({ stringUnit: nastyUnit }).map(cursorOf),
  fc.tuple(hostileValue).map(cursorOf),
  fc.tuple(hostileValue, hostileValue).map(cursorOf),
  fc.string({ unit: nastyUnit }),
);

const QUERY_KEYS = ["limit", "cursor", "category", "q", "low", "status"];
const RAW_QUERIES = [
  "%zz",
  "limit=%zz",
  "q=%00",
  "q=%ED%A0%80",
  "limit=1&limit=2",
  "=",
  "&&&",
  "q",
  "limit",
  `q=${"a".repeat(100_000)}`,
  `cursor=${"A".repeat(10_000)}`,
  "%",
  "low=TRUE",
  "status=placed&status=cancelled",
  "limit=1e308",
  "limit=-1",
  "limit=0",
  "limit=0.5",
  "limit=9007199254740993",
  "limit=NaN",
  "limit=Infinity",
  "q=' OR 1=1 --",
  "q=%27%3B%20DROP%20TABLE%20orders%3B--",
  "category=1%20OR%201%3D1",
];
const query = fc.oneof(
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string()),
        fc.oneof(hostileString, hostileNumber.map(String), cursor),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => new URLSearchParams(pairs).toString()),
  fc.constantFrom(...RAW_QUERIES),
);

/** Path segments as sent on the wire: raw junk, or anything percent-encoded. */
const JUNK_SEGMENTS = [
  "%zz",
  "%",
  "%0",
  "%g0",
  "%00",
  "a%00b",
  "%E0%A4%A",
  "%ED%A0%80",
  "%C0%AF",
  "%FF%FE",
  "%2e%2e",
  "..",
  ".",
  "%20",
  "%2F",
  "%5C",
  "%u0041",
  "%25",
  "%2525zz",
  "\\",
  "'",
  "\u0000",
  "\uD800",
  "😀",
  "%F0%9F%98%80",
  "%27%3B%20DROP%20TABLE%20orders%3B--",
  "1%20OR%201%3D1",
  "A".repeat(300),
  "A".repeat(70_000),
  "%41".repeat(5_000),
  "%00".repeat(100),
];

const CONTENT_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "application/jsonx",
  "application/octet-stream",
  "json",
  "",
  "ä/ö",
  ";;;",
  "application/json\u0000",
  "a".repeat(10_000),
];
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant("application/json") },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "APPLICATION/JSON",
      "application/json; charset=utf-8",
      "application/merge-patch+json",
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
);

const BAD_IDEMPOTENCY_KEYS = [
  "",
  "a".repeat(256),
  "k".repeat(300),
  "\u0000",
  "key\u0001",
  "key\r\nX-Injected: 1",
  "\t",
  "\u007f",
  "ключ",
  "😀",
  "\uD800",
];
const idempotencyKey = fc.oneof(
  { weight: 4, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constant("fuzz-fixed-key") },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom(...BAD_IDEMPOTENCY_KEYS) },
  { weight: 1, arbitrary: hostileString },
);

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

/** Authorization headers that must never authenticate anyone. */
function badAuthorizations(): string[] {
  const user = w.users.customer;
  const token = user.token;
  const [header, , signature] = token.split(".");
  const escalated = {
    sub: user.id,
    role: "admin",
    iss: "flashstock",
    aud: "flashstock-api",
    iat: Math.floor(Date.now() / 1000),
    exp: 4_102_444_800,
  };
  return [
    "Bearer",
    "Bearer ",
    "Basic x",
    "Basic dXNlcjpwYXNzd29yZA==",
    "Digest username=admin",
    `Bearer ${"A".repeat(10 * 1024)}`,
    "Bearer tökén",
    "Bearer 😀",
    `Bearer ${token}\u0000`,
    `Bearer ${token} ${token}`,
    `Bearer ${token}x`,
    `Bearer ${token}\r\nX-Injected: 1`,
    // The customer's own signature over a payload that says admin.
    `Bearer ${header}.${b64url(escalated)}.${signature}`,
    `Bearer ${b64url({ alg: "none", typ: "JWT" })}.${b64url(escalated)}.`,
    `Bearer ${w.expiredToken}`,
    `Bearer ${w.wrongSecretToken}`,
    "Bearer null",
    "Bearer a.b.c",
    "Bearer ' OR 1=1 --",
    "",
    " ",
    "\u0000",
  ];
}

function authorization(role: Role | undefined): fc.Arbitrary<string | undefined> {
  const tokenOf = (r: Role) => `Bearer ${w.users[r].token}`;
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(tokenOf(role ?? "customer")) },
    { weight: 2, arbitrary: fc.constantFrom(...ROLES).map(tokenOf) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom(...badAuthorizations(), `bearer ${w.users.admin.token}`),
        hostileString,
      ),
    },
  );
}

function pathSegment(name: string, valid: string | undefined): fc.Arbitrary<string> {
  const known =
    name === "sku"
      ? [w.sku, w.otherSku, "NO-SUCH-SKU"]
      : [w.cartId, w.anonymousCartId, w.closedCartId, w.orderId, randomUUID()];
  const hostile = [
    { weight: 2, arbitrary: fc.constantFrom(...known).map(encodeURIComponent) },
    {
      weight: 2,
      arbitrary: hostileString.filter((s) => s.isWellFormed()).map(encodeURIComponent),
    },
    { weight: 2, arbitrary: fc.constantFrom(...JUNK_SEGMENTS) },
    { weight: 1, arbitrary: fc.constantFrom(...SQL).map(encodeURIComponent) },
  ];
  return valid
    ? fc.oneof({ weight: 6, arbitrary: fc.constant(encodeURIComponent(valid)) }, ...hostile)
    : fc.oneof(...hostile);
}

/** Any request to the route: every part either the template's valid value or something hostile. */
function hostileRequest(route: HttpRoute): fc.Arbitrary<Sent> {
  const tpl = templates()[routeKey(route)];
  const names = paramNames(route.path);
  return fc
    .record({
      segments: fc.tuple(...names.map((n) => pathSegment(n, tpl.path?.[n]))),
      query: fc.oneof(
        { weight: 2, arbitrary: fc.constant(tpl.query ?? "") },
        { weight: 3, arbitrary: query },
      ),
      authorization: authorization(tpl.role),
      contentType,
      idempotencyKey,
      body: rawBody(tpl.body),
    })
    .map(
      ({
        segments,
        query: q,
        authorization: auth,
        contentType: type,
        idempotencyKey: key,
        body,
      }) => {
        let i = 0;
        const path = fillPath(route.path, () => segments[i++] as string);
        const headers: Record<string, string> = {};
        if (auth !== undefined) headers.authorization = auth;
        if (type !== undefined && body !== undefined) headers["content-type"] = type;
        if (key !== undefined) headers["idempotency-key"] = key;
        return readable({ method: route.method, url: q ? `${path}?${q}` : path, headers, body });
      },
    );
}

// Scrypt makes every register and login with a well-formed body cost a fifth of a second.
const RUNS = { default: 200, scrypt: 80 };
const runsFor = (route: HttpRoute) =>
  route.path.startsWith("/auth/") || route.path === "/staff" ? RUNS.scrypt : RUNS.default;

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

describe("hostile input: fuzzing every route of the topology", () => {
  for (const route of routes) {
    const key = routeKey(route);
    it(`answers anything sent to ${key} with a success or a documented 4xx, and writes nothing when it refuses`, async () => {
      // Prepare
      const tpl = templates()[key];
      const seen = new Set<string>();

      // Act
      await fc.assert(
        fc.asyncProperty(hostileRequest(route), async (req) => {
          const res = await sendChecked(req);
          seen.add(outcome(res));
        }),
        { numRuns: runsFor(route) },
      );

      // Assess: the fuzzer got past the router, authentication and path parsing, and for a
      // route with a body it reached the body's validator.
      const outcomes = [...seen];
      expect(outcomes.filter((o) => !/^(401|403|404 NOT_FOUND$)/.test(o))).not.toEqual([]);
      if (tpl.body) expect(outcomes).toContain("400 VALIDATION_FAILED body");
    });
  }
});

describe("hostile input: numbers", () => {
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

  it("rejects negative, zero where it means nothing, fractional, huge and NaN-like numbers in every numeric field with 400", async () => {
    // Prepare
    const cases: { req: Sent; field: string }[] = [];
    for (const { route: key, field, max, zero } of NUMERIC_FIELDS) {
      const route = routes.find((r) => routeKey(r) === key) as HttpRoute;
      const tpl = templates()[key];
      const literals = [...NEVER_VALID, String(max + 1), ...(zero ? [] : ["0", "-0"])];
      for (const literal of literals) {
        const text = JSON.stringify({ ...tpl.body, [field]: "__NUMBER__" }).replace(
          '"__NUMBER__"',
          literal,
        );
        cases.push({ req: fromTemplate(route, { body: text }), field });
      }
    }

    // Act
    const failures = await collectFailures(
      cases.map((c) => c.req),
      (req, res) => {
        const field = cases.find((c) => c.req === req)?.field;
        const label = describeRequest(req);
        expect(res.status, label).toBe(400);
        let parses = true;
        try {
          JSON.parse(req.body as string);
        } catch {
          parses = false;
        }
        if (!parses) expect(res.body.error.code, label).toBe("MALFORMED_JSON");
        else {
          expect(res.body.error.code, label).toBe("VALIDATION_FAILED");
          expect(
            res.body.error.details.issues.map((i: { path: string }) => i.path),
            label,
          ).toContain(field);
        }
      },
    );

    // Assess
    expect(failures).toEqual([]);
  });

  it("rejects an adjustment that would take stock past the ceiling with STOCK_LIMIT_EXCEEDED, changing nothing", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 999_999_999 });
    const route = routes.find((r) => routeKey(r) === "POST /inventory/{sku}/adjustments");

    // Act
    const res = await sendChecked(
      fromTemplate(route as HttpRoute, {
        segment: () => product.sku,
        body: JSON.stringify({ delta: 2, reason: "restock" }),
      }),
    );

    // Assess
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("STOCK_LIMIT_EXCEEDED");
  });
});

describe("hostile input: strings and sizes", () => {
  /** Every string in every template body, by route and path: where a long string can go. */
  function stringFields(): { route: HttpRoute; at: string[] }[] {
    return bodyRoutes().flatMap((route) => {
      const body = templates()[routeKey(route)].body as Json;
      return fieldPaths(body)
        .filter((at) => typeof nodeAt(body, at.slice(0, -1))?.[at.at(-1) as string] === "string")
        .map((at) => ({ route, at }));
    });
  }

  it("rejects strings of 10k to 100k characters in any text field with 400, or 413 past the body limit", async () => {
    // Prepare
    const fields = stringFields();
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
          const body = JSON.stringify(
            withField(templates()[routeKey(where.route)].body as Json, where.at, text),
          );
          req = fromTemplate(where.route, { body });
          expected =
            Buffer.byteLength(body) > MAX_BODY_BYTES
              ? [413, "BODY_TOO_LARGE"]
              : [400, "VALIDATION_FAILED"];
        } else if (where.kind === "query") {
          const route = routes.find((r) => routeKey(r) === "GET /products") as HttpRoute;
          req = fromTemplate(route, {
            query: new URLSearchParams({ [where.key]: text }).toString(),
          });
          expected = [400, "VALIDATION_FAILED"];
        } else if (where.kind === "path") {
          const route = routes.find((r) => routeKey(r) === "GET /products/{sku}") as HttpRoute;
          req = fromTemplate(route, { segment: () => encodeURIComponent(text) });
          expected = [400, "VALIDATION_FAILED"];
        } else {
          const route = routes.find((r) => routeKey(r) === "POST /checkout") as HttpRoute;
          req = fromTemplate(route, { headers: { "idempotency-key": text } });
          expected = [400, "VALIDATION_FAILED"];
        }
        const res = await sendChecked(req);
        expect([res.status, res.body.error?.code], describeRequest(req)).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it("rejects a 1 MB body on every route that reads a body with 413 BODY_TOO_LARGE, whatever its type", async () => {
    // Prepare
    const megabyte = JSON.stringify({ name: "x".repeat(1024 * 1024) });
    const cases = bodyRoutes().flatMap((route) => [
      fromTemplate(route, { body: megabyte }),
      fromTemplate(route, { body: megabyte, headers: { "content-type": "text/plain" } }),
      fromTemplate(route, {
        body: Buffer.alloc(1024 * 1024, 0xff),
        headers: { "content-type": "application/octet-stream" },
      }),
    ]);

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect([res.status, res.body.error.code], describeRequest(req)).toEqual([
        413,
        "BODY_TOO_LARGE",
      ]);
      expect(res.body.error.details.limit).toBe(MAX_BODY_BYTES);
    });

    // Assess
    expect(failures).toEqual([]);
  });

  it("rejects deeply nested JSON on every route that reads a body with 400, not a crash", async () => {
    // Prepare
    const cases = bodyRoutes().flatMap((route) =>
      [
        "[".repeat(32_000) + "]".repeat(32_000),
        `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`,
        `{"name":${"[".repeat(20_000)}"\\u0000"${"]".repeat(20_000)}}`,
      ].map((body) => fromTemplate(route, { body })),
    );

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect([res.status, res.body.error.code], describeRequest(req)).toEqual([
        400,
        "VALIDATION_FAILED",
      ]);
    });

    // Assess
    expect(failures).toEqual([]);
  });

  it("rejects malformed JSON on every route that reads a body with 400 MALFORMED_JSON", async () => {
    // Prepare
    const cases = bodyRoutes().flatMap((route) =>
      MALFORMED_JSON.map((body) => fromTemplate(route, { body })),
    );

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect([res.status, res.body.error.code], describeRequest(req)).toEqual([
        400,
        "MALFORMED_JSON",
      ]);
    });

    // Assess
    expect(failures).toEqual([]);
  });

  it("rejects bodies that are not JSON by their content type with 400 UNSUPPORTED_MEDIA_TYPE", async () => {
    // Prepare
    const cases = bodyRoutes().flatMap((route) =>
      CONTENT_TYPES.map((type) => fromTemplate(route, { headers: { "content-type": type } })),
    );

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect([res.status, res.body.error.code], describeRequest(req)).toEqual([
        400,
        "UNSUPPORTED_MEDIA_TYPE",
      ]);
    });

    // Assess
    expect(failures).toEqual([]);
  });

  it("rejects an empty body on every route that reads a body with 400 VALIDATION_FAILED", async () => {
    // Prepare
    const cases = bodyRoutes().flatMap((route) => [
      { ...fromTemplate(route), body: undefined },
      fromTemplate(route, { body: "" }),
      fromTemplate(route, { body: "null" }),
      fromTemplate(route, { body: "{}" }),
      fromTemplate(route, { body: "[]" }),
      fromTemplate(route, { body: '"text"' }),
    ]);

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect([res.status, res.body.error.code], describeRequest(req)).toEqual([
        400,
        "VALIDATION_FAILED",
      ]);
    });

    // Assess
    expect(failures).toEqual([]);
  });

  it("rejects a body with an unknown field where the schema is closed, and NUL or a lone surrogate anywhere, with 400", async () => {
    // Prepare
    const cases = bodyRoutes().flatMap((route) => {
      const body = templates()[routeKey(route)].body as Json;
      return [
        ...["role", "id", "customerId", "status", "available", "__proto__", "constructor"]
          .filter((key) => !Object.hasOwn(body, key))
          .map((key) => {
            const copy = structuredClone(body);
            setOwn(copy, key, key === "__proto__" ? { role: "admin" } : "admin");
            return fromTemplate(route, { body: JSON.stringify(copy) });
          }),
        ...fieldPaths(body)
          .filter((at) => typeof nodeAt(body, at.slice(0, -1))?.[at.at(-1) as string] === "string")
          .flatMap((at) =>
            ["x\u0000", "\uD800", "a\uDFFF"].map((bad) =>
              fromTemplate(route, { body: JSON.stringify(withField(body, at, bad)) }),
            ),
          ),
      ];
    });

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect([res.status, res.body.error.code], describeRequest(req)).toEqual([
        400,
        "VALIDATION_FAILED",
      ]);
    });

    // Assess
    expect(failures).toEqual([]);
  });
});

describe("hostile input: paths, queries and cursors", () => {
  it("rejects percent-encoding junk, NUL, very long and SQL-looking path parameters with 400", async () => {
    // Prepare
    const cases = routesWith((route) => paramNames(route.path).length > 0).flatMap((route) =>
      paramNames(route.path).flatMap((param) =>
        [...JUNK_SEGMENTS, ...SQL.map(encodeURIComponent)].map((junk) =>
          fromTemplate(route, { segment: (name) => (name === param ? junk : undefined) }),
        ),
      ),
    );

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect(res.status, describeRequest(req)).toBe(400);
      expect(["MALFORMED_PATH", "VALIDATION_FAILED"], describeRequest(req)).toContain(
        res.body.error.code,
      );
    });

    // Assess
    expect(failures).toEqual([]);
  });

  it("answers a known path with a wrong or unknown method with 405 METHOD_NOT_ALLOWED and the allowed methods", async () => {
    // Prepare
    const paths = [...new Set(routes.map((r) => r.path))];
    const cases = paths.flatMap((path) => {
      const allowed = routes.filter((r) => r.path === path).map((r) => r.method);
      return ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "get", "FOO"]
        .filter((m) => !(allowed as string[]).includes(m))
        .map((method) => ({
          allowed,
          req: {
            method,
            url: fillPath(path, (name) => (name === "sku" ? w.sku : w.cartId)),
            headers: { authorization: `Bearer ${w.users.admin.token}` },
          } as Sent,
        }));
    });

    // Act
    const failures = await collectFailures(
      cases.map((c) => c.req),
      (req, res) => {
        const allowed = cases.find((c) => c.req === req)?.allowed ?? [];
        expect([res.status, res.body.error.code], describeRequest(req)).toEqual([
          405,
          "METHOD_NOT_ALLOWED",
        ]);
        expect(res.headers.allow?.split(", ").sort()).toEqual([...allowed].sort());
      },
    );

    // Assess
    expect(failures).toEqual([]);
  });

  it("answers unknown paths with 404 NOT_FOUND", async () => {
    // Prepare
    const cases = [
      "/",
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
    ].map((url) => ({ method: "GET", url, headers: {} }) as Sent);

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect([res.status, res.body.error.code], describeRequest(req)).toEqual([404, "NOT_FOUND"]);
    });

    // Assess
    expect(failures).toEqual([]);
  });

  it("rejects out-of-range, malformed and NUL query parameters on list routes with 400 VALIDATION_FAILED", async () => {
    // Prepare
    const listRoutes = routesWith((route) =>
      ["GET /products", "GET /orders", "GET /inventory/{sku}/movements"].includes(routeKey(route)),
    );
    const bad = [
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
    const cases = listRoutes.flatMap((route) => bad.map((q) => fromTemplate(route, { query: q })));
    const products = routes.find((r) => routeKey(r) === "GET /products") as HttpRoute;
    cases.push(
      fromTemplate(products, { query: "q=%00" }),
      fromTemplate(products, { query: "q=a%00b" }),
      fromTemplate(products, { query: "category=%00" }),
      fromTemplate(products, { query: `q=${"a".repeat(201)}` }),
      fromTemplate(products, { query: "q=%20%20" }),
    );
    const orders = routes.find((r) => routeKey(r) === "GET /orders") as HttpRoute;
    cases.push(
      fromTemplate(orders, { query: "status=' OR 1=1 --" }),
      fromTemplate(orders, { query: "status=PLACED" }),
      fromTemplate(orders, { query: "status=placed&status=cancelled" }),
    );
    const inventory = routes.find((r) => routeKey(r) === "GET /inventory") as HttpRoute;
    cases.push(
      fromTemplate(inventory, { query: "low=1" }),
      fromTemplate(inventory, { query: "low=TRUE" }),
      fromTemplate(inventory, { query: "low=true&low=true" }),
    );

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect([res.status, res.body.error.code], describeRequest(req)).toEqual([
        400,
        "VALIDATION_FAILED",
      ]);
    });

    // Assess
    expect(failures).toEqual([]);
  });

  it("rejects cursors it never issued with 400 INVALID_CURSOR, whatever they decode to", async () => {
    // Prepare
    const uuid = randomUUID();
    const byRoute: Record<string, unknown[]> = {
      "GET /products": [[1], ["a", "b"], [null], [], {}, null, ["a\u0000"], ["\u0000"], [["x"]]],
      "GET /inventory/{sku}/movements": [
        [1e300],
        [1e20],
        [2 ** 63],
        [2 ** 53],
        [0.5],
        ["1"],
        ["' OR 1=1 --"],
        [],
        null,
      ],
      "GET /orders": [
        ["0000-01-01T00:00:00Z", uuid],
        ["2024-02-30T00:00:00Z", uuid],
        ["not a date", uuid],
        ["2024-01-01T00:00:00Z", "not-a-uuid"],
        ["2024-01-01T00:00:00Z", "'; DROP TABLE orders;--"],
        ["2024-01-01T00:00:00Z\u0000", uuid],
        ["2024-01-01T00:00:00Z"],
        [1, 2],
      ],
    };
    const cases = Object.entries(byRoute).flatMap(([key, keys]) => {
      const route = routes.find((r) => routeKey(r) === key) as HttpRoute;
      return [
        ...keys.map((k) => fromTemplate(route, { query: `cursor=${cursorOf(k)}` })),
        fromTemplate(route, { query: "cursor=!!!" }),
        fromTemplate(route, { query: `cursor=${"_".repeat(100)}` }),
      ];
    });

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect([res.status, res.body.error.code], describeRequest(req)).toEqual([
        400,
        "INVALID_CURSOR",
      ]);
    });

    // Assess
    expect(failures).toEqual([]);
  });

  it("answers any cursor on the list routes with 200 or a 400, never a 500", async () => {
    // Prepare
    const listRoutes = routesWith((route) =>
      ["GET /products", "GET /orders", "GET /inventory/{sku}/movements"].includes(routeKey(route)),
    );
    const request = fc
      .tuple(fc.constantFrom(...listRoutes), cursor)
      .map(([route, c]) =>
        fromTemplate(route, { query: new URLSearchParams({ cursor: c }).toString() }),
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
});

describe("hostile input: headers", () => {
  it("rejects every malformed, forged, expired or foreign bearer token on protected routes with 401 UNAUTHENTICATED", async () => {
    // Prepare
    const protectedRoutes = routesWith((route) => ACCESS[routeKey(route)] !== "public");
    const cases = protectedRoutes.flatMap((route) =>
      badAuthorizations().map((auth) =>
        fromTemplate(route, { role: null, headers: { authorization: auth } }),
      ),
    );

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect([res.status, res.body.error.code], describeRequest(req)).toEqual([
        401,
        "UNAUTHENTICATED",
      ]);
    });

    // Assess
    expect(failures).toEqual([]);
  });

  it("ignores the Authorization header on public routes, even a hostile one", async () => {
    // Prepare: no body, so that register and login fail validation instead of hashing passwords.
    const publicRoutes = routesWith((route) => ACCESS[routeKey(route)] === "public");
    const cases = publicRoutes.flatMap((route) =>
      badAuthorizations().map((auth) => ({
        ...fromTemplate(route, { role: null, headers: { authorization: auth } }),
        body: undefined,
      })),
    );

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect(res.status, describeRequest(req)).not.toBe(401);
    });

    // Assess
    expect(failures).toEqual([]);
  });

  it("rejects an empty, 300-character, control-character or non-ASCII Idempotency-Key with 400 and places no order", async () => {
    // Prepare: a cart that a good key does check out, as the last case shows.
    const customer = await createUser(t.db, "customer");
    const product = await createTestProduct(t.db, { available: 3 });
    const cartId = await cartWith(customer, { [product.sku]: 1 });
    const route = routes.find((r) => routeKey(r) === "POST /checkout") as HttpRoute;
    const request = (key: string | undefined): Sent => {
      const headers: Record<string, string> = {
        authorization: `Bearer ${customer.token}`,
        "content-type": "application/json",
      };
      if (key !== undefined) headers["idempotency-key"] = key;
      return {
        method: route.method,
        url: route.path,
        headers,
        body: JSON.stringify({ cartId, shippingAddress: address }),
      };
    };

    // Act
    const failures = await collectFailures(
      [...BAD_IDEMPOTENCY_KEYS, undefined].map(request),
      (req, res) => {
        expect([res.status, res.body.error.code], describeRequest(req)).toEqual([
          400,
          "VALIDATION_FAILED",
        ]);
        expect(res.body.error.details.in).toBe("header idempotency-key");
      },
    );
    const good = await sendChecked(request("a".repeat(255)));

    // Assess
    expect(failures).toEqual([]);
    expect(good.status).toBe(201);
    const { rows } = await t.db.query("SELECT count(*)::int AS n FROM orders WHERE cart_id = $1", [
      cartId,
    ]);
    expect(rows[0]).toEqual({ n: 1 });
  });
});

describe("hostile input: SQL-looking strings", () => {
  it("treats SQL-looking strings in every body field as data: a documented answer, and the tables intact", async () => {
    // Prepare
    // Register, login and staff only get them as the email: anywhere else they are a valid
    // password or name, and each case would pay for a scrypt hash.
    const scrypt = ["/auth/register", "/auth/login", "/staff"];
    const cases = bodyRoutes().flatMap((route) => {
      const body = templates()[routeKey(route)].body as Json;
      return fieldPaths(body)
        .filter((at) => typeof nodeAt(body, at.slice(0, -1))?.[at.at(-1) as string] === "string")
        .filter((at) => !scrypt.includes(route.path) || at.join(".") === "email")
        .flatMap((at) =>
          SQL.map((sql) => fromTemplate(route, { body: JSON.stringify(withField(body, at, sql)) })),
        );
    });

    // Act
    const failures = await collectFailures(cases, () => {});

    // Assess
    expect(failures).toEqual([]);
    const { rows } = await t.db.query<{ missing: string[] }>(
      "SELECT array_agg(name) FILTER (WHERE to_regclass(name) IS NULL) AS missing FROM unnest($1::text[]) name",
      [WRITABLE_TABLES],
    );
    expect(rows[0]?.missing).toBeNull();
  });

  it("stores a SQL-looking product name verbatim", async () => {
    // Prepare
    const product = await createTestProduct(t.db);
    const name = "Robert'); DROP TABLE products;--";

    // Act
    const patched = await sendChecked({
      method: "PATCH",
      url: `/products/${product.sku}`,
      headers: {
        authorization: `Bearer ${w.users.stock_manager.token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ name, description: "1 OR 1=1" }),
    });
    const read = await call("GET", `/products/${product.sku}`);

    // Assess
    expect(patched.status).toBe(200);
    expect(read.body).toMatchObject({ sku: product.sku, name, description: "1 OR 1=1" });
  });
});

describe("hostile input: targeted cases", () => {
  it("rejects a product name with a NUL character with 400 VALIDATION_FAILED and creates nothing", async () => {
    // Prepare
    const sku = `NUL-${randomUUID().slice(0, 8)}`;
    const body = { sku, name: "Bad\u0000Name", priceCents: 100, available: 1, minQuantity: 0 };

    // Act
    const res = await sendChecked({
      method: "POST",
      url: "/products",
      headers: {
        authorization: `Bearer ${w.users.stock_manager.token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify(body),
    });

    // Assess
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(res.body.error.details).toMatchObject({ in: "body", issues: [{ path: "name" }] });
    expect((await call("GET", `/products/${sku}`)).status).toBe(404);
  });

  it("rejects a SQL-looking SKU in a path with 400 VALIDATION_FAILED from the SKU pattern", async () => {
    // Prepare
    const skus = ["'; DROP TABLE orders;--", "1 OR 1=1", "A' OR 'A'='A"];

    // Act
    const responses = await Promise.all(
      skus.map((sku) => call("GET", `/products/${encodeURIComponent(sku)}`)),
    );

    // Assess
    for (const res of responses) {
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({
        code: "VALIDATION_FAILED",
        details: { in: "path", issues: [{ path: "sku" }] },
      });
    }
  });

  it("answers a SQL-looking search with 200 and no rows, and leaves every table intact", async () => {
    // Prepare: strings that no product contains (checked against the database, literally).
    const searches = ["zq'; DROP TABLE orders;--", "zq1 OR 1=1", "%' OR 1=1; DROP TABLE stock;--"];
    const before = await snapshot();

    // Act
    const responses = [];
    for (const q of searches) {
      responses.push(await call("GET", `/products?${new URLSearchParams({ q, limit: "100" })}`));
    }

    // Assess
    for (const [i, res] of responses.entries()) {
      const q = searches[i] as string;
      const { rows } = await t.db.query(
        `SELECT sku FROM products
          WHERE strpos(lower(name), lower($1)) > 0 OR strpos(lower(description), lower($1)) > 0
             OR strpos(lower(sku), lower($1)) > 0`,
        [q],
      );
      expect(rows).toEqual([]);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: [], nextCursor: null });
    }
    expect(await snapshot()).toEqual(before);
  });

  it("leaves the stock ledger consistent after all of the above", async () => {
    // Act
    const ledger = await checkLedger(t.db);

    // Assess
    expect(ledger.length).toBeGreaterThan(0);
    for (const row of ledger) {
      expect(row.available).toBeGreaterThanOrEqual(0);
      expect(row.ledgerSum).toBe(row.available);
      expect(row.soldInOrders).toBe(row.soldInLedger);
    }
  });
});

describe("hostile input: the rest of issue 6's list", () => {
  /** Every field of every template body, with the JSON type of its valid value. */
  function typedFields() {
    return bodyRoutes().flatMap((route) => {
      const body = templates()[routeKey(route)].body as Json;
      return fieldPaths(body).map((at) => {
        const value = nodeAt(body, at.slice(0, -1))?.[at.at(-1) as string];
        const type = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
        return { route, body, at, type };
      });
    });
  }

  const WRONG_TYPES: Record<string, unknown[]> = {
    string: [1, 0, true, null, [], ["x"], {}],
    number: ["1", "", true, null, [], [1], {}],
    array: ["x", 1, true, null, {}],
    object: ["x", 1, true, null, [], [{}]],
  };

  it("rejects a value of the wrong JSON type in every body field with 400 VALIDATION_FAILED naming that field", async () => {
    // Prepare: attribute values may be strings, numbers or booleans.
    const cases: { req: Sent; field: string }[] = [];
    for (const { route, body, at, type } of typedFields()) {
      if (at[0] === "attributes" && at.length > 1) continue;
      for (const wrong of WRONG_TYPES[type] ?? []) {
        // A category may be null, and so may an address's line2 (storefronts send either).
        if (["category", "shippingAddress.line2"].includes(at.join(".")) && wrong === null)
          continue;
        cases.push({
          req: fromTemplate(route, { body: JSON.stringify(withField(body, at, wrong)) }),
          field: at.join("."),
        });
      }
    }

    // Act
    const failures = await collectFailures(
      cases.map((c) => c.req),
      (req, res) => {
        const field = cases.find((c) => c.req === req)?.field as string;
        expect([res.status, res.body.error?.code], describeRequest(req)).toEqual([
          400,
          "VALIDATION_FAILED",
        ]);
        expect(
          res.body.error.details.issues.map((i: { path: string }) => i.path),
          describeRequest(req),
        ).toContain(field);
      },
    );

    // Assess
    expect(failures).toEqual([]);
    reportScenario("hostile input: wrong JSON types", {
      injected: `${cases.length} bodies, each with one field of ${bodyRoutes().length} routes given a value of another JSON type`,
      checked: `all ${cases.length} 400 VALIDATION_FAILED naming the field, every table unchanged after each`,
    });
  });

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
      headers: {
        authorization: `Bearer ${w.users.stock_manager.token}`,
        "content-type": "application/json",
      },
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
    expect(registered.body.customer.name).toBe(texts.emoji);
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

  it("treats JSON and NoSQL operator objects ({$ne: null}, {$gt: ''}) as the wrong type in every string field: 400, and login issues no token", async () => {
    // Prepare
    const operators = [{ $ne: null }, { $gt: "" }, { $regex: ".*" }, { $where: "1 == 1" }];
    const cases = typedFields()
      .filter(({ type }) => type === "string")
      .flatMap(({ route, body, at }) =>
        operators.map((op) =>
          fromTemplate(route, { body: JSON.stringify(withField(body, at, op)) }),
        ),
      );
    const login = routes.find((r) => routeKey(r) === "POST /auth/login") as HttpRoute;
    cases.push(
      fromTemplate(login, {
        body: JSON.stringify({ email: { $ne: null }, password: { $ne: null } }),
      }),
      fromTemplate(login, {
        body: JSON.stringify({ email: w.users.admin.email, password: { $gt: "" } }),
      }),
    );

    // Act
    const failures = await collectFailures(cases, (req, res) => {
      expect([res.status, res.body.error?.code], describeRequest(req)).toEqual([
        400,
        "VALIDATION_FAILED",
      ]);
      expect(res.text).not.toContain("token");
    });

    // Assess
    expect(failures).toEqual([]);
    reportScenario("hostile input: JSON operator injection", {
      injected: `${cases.length} bodies with {$ne: null}, {$gt: ''}, {$regex}, {$where} in place of a string, login's email and password included`,
      checked: `all ${cases.length} 400 VALIDATION_FAILED, no token issued, every table unchanged after each`,
    });
  });

  it("never lets a body set a prototype: __proto__ and constructor.prototype keys in any object of any body are refused with 400, and Object.prototype stays clean", async () => {
    // Prepare
    const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();
    const keysBefore = prototypeKeys();
    const payloads: [string, unknown][] = [
      ["__proto__", { polluted: "yes", role: "admin" }],
      ["__proto__", "polluted"],
      ["constructor", { prototype: { polluted: "yes" } }],
      ["prototype", { polluted: "yes" }],
    ];
    const cases = bodyRoutes().flatMap((route) => {
      const body = templates()[routeKey(route)].body as Json;
      return objectPaths(body).flatMap((at) =>
        payloads.map(([key, value]) => {
          const copy = structuredClone(body);
          setOwn(nodeAt(copy, at) as Record<string, unknown>, key, value);
          return { req: fromTemplate(route, { body: JSON.stringify(copy) }), at, key, value };
        }),
      );
    });
    // Act
    const failures = await collectFailures(
      cases.map((c) => c.req),
      (req, res) => {
        expect([res.status, res.body.error?.code], describeRequest(req)).toEqual([
          400,
          "VALIDATION_FAILED",
        ]);
      },
    );

    // Assess
    expect(failures).toEqual([]);
    expect(prototypeKeys()).toEqual(keysBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    reportScenario("hostile input: prototype pollution", {
      injected: `${cases.length} bodies with __proto__, constructor.prototype or prototype keys at every object of every body (the product attributes included)`,
      checked:
        "all 400 VALIDATION_FAILED, every table unchanged after each, Object.prototype unchanged and {}.polluted undefined",
    });
  });

  it("refuses an attribute named __proto__ with 400 rather than dropping it silently", async () => {
    // Prepare
    const sku = `PROTO-${randomUUID().slice(0, 8)}`;
    const body = `{"sku":"${sku}","name":"Proto","priceCents":1,"available":1,"minQuantity":0,"attributes":{"colour":"red","__proto__":"evil"}}`;

    // Act
    const res = await sendChecked({
      method: "POST",
      url: "/products",
      headers: {
        authorization: `Bearer ${w.users.stock_manager.token}`,
        "content-type": "application/json",
      },
      body,
    });

    // Assess
    expect([res.status, res.body.error?.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(res.body.error.details.issues).toEqual([
      expect.objectContaining({ path: "attributes.__proto__" }),
    ]);
    expect((await call("GET", `/products/${sku}`)).status).toBe(404);
  });

  it("answers header abuse on every body route with a documented code: duplicated and odd content types, gzip content encoding, huge headers", async () => {
    // Prepare: API Gateway joins a repeated header's values with commas.
    const abuse: {
      name: string;
      headers: Record<string, string>;
      body?: Buffer | string;
      expect: string[];
    }[] = [
      {
        name: "duplicated content-type",
        headers: { "content-type": "application/json,application/json" },
        expect: ["UNSUPPORTED_MEDIA_TYPE"],
      },
      {
        name: "json and text content-types",
        headers: { "content-type": "application/json, text/plain" },
        expect: ["UNSUPPORTED_MEDIA_TYPE"],
      },
      {
        name: "text then json content-types",
        headers: { "content-type": "text/plain,application/json" },
        expect: ["UNSUPPORTED_MEDIA_TYPE"],
      },
      {
        name: "content-type with a NUL",
        headers: { "content-type": "application/json\u0000; charset=utf-8" },
        expect: ["UNSUPPORTED_MEDIA_TYPE"],
      },
      {
        name: "content-type with a CRLF",
        headers: { "content-type": "application/json\r\nX-Injected: 1" },
        expect: ["UNSUPPORTED_MEDIA_TYPE"],
      },
      {
        name: "a gzip-encoded body",
        headers: { "content-encoding": "gzip" },
        body: "gzip",
        expect: ["UNSUPPORTED_MEDIA_TYPE"],
      },
      {
        name: "a gzip-encoded 1 MB body",
        headers: { "content-encoding": "gzip" },
        body: "gzip-1mb",
        expect: ["UNSUPPORTED_MEDIA_TYPE"],
      },
      {
        // Valid JSON that claims to be compressed must not be taken at face value either.
        name: "plain JSON labelled gzip",
        headers: { "content-encoding": "gzip" },
        expect: ["UNSUPPORTED_MEDIA_TYPE"],
      },
    ];
    const cases = bodyRoutes().flatMap((route) => {
      const tpl = templates()[routeKey(route)];
      return abuse.map((a) => {
        let body: Buffer | string | undefined;
        if (a.body === "gzip") body = gzipSync(Buffer.from(JSON.stringify(tpl.body)));
        if (a.body === "gzip-1mb")
          body = gzipSync(
            Buffer.from(JSON.stringify({ ...tpl.body, pad: "x".repeat(1024 * 1024) })),
          );
        return { a, req: fromTemplate(route, { headers: a.headers, ...(body ? { body } : {}) }) };
      });
    });
    // Headers the API does not read, huge or hostile, on every route: nothing changes for them.
    const ignored = routes.map((route) =>
      fromTemplate(route, {
        headers: {
          "x-junk": "a".repeat(1024 * 1024),
          "user-agent": "\u0000\uD800'; DROP TABLE users;--",
          "x-forwarded-for": "127.0.0.1, ' OR 1=1",
          cookie: `session=${"c".repeat(50_000)}`,
          "content-type": `application/json; ${"x".repeat(100_000)}`,
        },
      }),
    );

    // Act
    const failures = await collectFailures(
      cases.map((c) => c.req),
      (req, res) => {
        const a = cases.find((c) => c.req === req)?.a;
        expect(res.status, describeRequest(req)).toBe(400);
        expect(a?.expect, `${a?.name}: ${describeRequest(req)}`).toContain(res.body.error?.code);
      },
    );
    const ignoredFailures = await collectFailures(ignored, () => {});

    // Assess
    expect(failures).toEqual([]);
    expect(ignoredFailures).toEqual([]);
    reportScenario("hostile input: header abuse", {
      injected: `${cases.length} body requests with ${abuse.length} kinds of content-type/encoding abuse (${abuse.map((a) => a.name).join(", ")}); ${ignored.length} requests, one per route, with a 1 MB header, a 50 KB cookie, a 100 KB content-type and hostile user-agent and forwarding headers`,
      checked: `all ${cases.length} 400 with their documented code and nothing written; the ${ignored.length} others answered below 500 with documented codes`,
    });
  });
});
