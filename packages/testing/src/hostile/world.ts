/**
 * The world hostile requests act on (a user of each role, two products, open and closed carts, a
 * placed order), and one valid request per route of the topology, which each hostile case spoils
 * in one way.
 */
import { randomUUID } from "node:crypto";
import { issueToken, type Role } from "@flashstock/core/auth/index";
import { beforeAll } from "vitest";
import { type HttpRoute, routes } from "../../../../infra/topology.ts";
import { call } from "../api.ts";
import type { TestDatabase } from "../database.ts";
import {
  address,
  cartWith,
  checkout,
  createTestProduct,
  createUser,
  PASSWORD,
  type TestUser,
} from "../fixtures.ts";
import type { Sent } from "./contract.ts";
import type { Json } from "./json.ts";

export const ROLES = [
  "customer",
  "stock_manager",
  "ops",
  "admin",
] as const satisfies readonly Role[];

export interface World {
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

/**
 * The world of a test file, made once before its first test on the file's database (call after
 * `useDatabase`). The returned object is filled in before the first test runs.
 */
export function useWorld(t: TestDatabase): World {
  const w = {} as World;
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
    Object.assign(w, {
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
    } satisfies World);
  });
  return w;
}

export type RouteKey = (typeof routes)[number] extends infer R
  ? R extends { method: infer M extends string; path: infer P extends string }
    ? `${M} ${P}`
    : never
  : never;

export const routeKey = (route: HttpRoute) => `${route.method} ${route.path}` as RouteKey;

export const routeOf = (key: RouteKey) => routes.find((r) => routeKey(r) === key) as HttpRoute;

/** Who may call a route, as the spec says. */
export const ACCESS: Record<RouteKey, "public" | "optional" | "authenticated" | "roles"> = {
  "GET /": "public",
  "GET /openapi.json": "public",
  "GET /docs": "public",
  "GET /docs/swagger-ui.css": "public",
  "GET /docs/swagger-ui-bundle.js": "public",
  "GET /health": "public",
  "POST /auth/register": "public",
  "POST /auth/login": "public",
  "POST /auth/refresh": "public",
  "POST /auth/logout": "public",
  "POST /auth/password-reset": "public",
  "POST /auth/password-reset/confirm": "public",
  "GET /me": "authenticated",
  "PATCH /me": "authenticated",
  "POST /me/password": "authenticated",
  "POST /staff": "roles",
  "GET /staff": "roles",
  "PATCH /staff/{id}": "roles",
  "GET /products": "optional",
  "POST /products": "roles",
  "GET /products/{sku}": "optional",
  "PATCH /products/{sku}": "roles",
  "POST /products/{sku}/reviews": "roles",
  "GET /products/{sku}/reviews": "public",
  "GET /inventory": "roles",
  "PUT /inventory/{sku}": "roles",
  "POST /inventory/{sku}/adjustments": "roles",
  "GET /inventory/{sku}/movements": "roles",
  "POST /carts": "optional",
  "GET /carts/{id}": "optional",
  "PUT /carts/{id}/items/{sku}": "optional",
  "DELETE /carts/{id}/items/{sku}": "optional",
  "PUT /carts/{id}/promotion": "optional",
  "DELETE /carts/{id}/promotion": "optional",
  "POST /checkout": "roles",
  "GET /orders": "authenticated",
  "GET /orders/{id}": "authenticated",
  "POST /orders/{id}/cancel": "authenticated",
  "POST /orders/{id}/release": "roles",
  "POST /orders/{id}/ship": "roles",
  "POST /orders/{id}/deliver": "roles",
  "GET /me/wallet": "roles",
  "GET /customers/{id}/wallet": "roles",
  "POST /customers/{id}/wallet/transactions": "roles",
  "POST /promotions": "roles",
  "GET /reports/sales": "roles",
  "GET /reports/inventory": "roles",
  "GET /promotions": "roles",
  "GET /promotions/{code}": "roles",
  "PATCH /promotions/{code}": "roles",
  "POST /webhooks/stripe": "public",
};

/**
 * A request that passes authentication and validation (unless the world has moved on). What
 * depends on the world is a function of it, so that which routes take a body, a role or path
 * parameters is known before the world exists, when test tables are built.
 */
export interface Template {
  role?: Role;
  path?: (w: World) => Record<string, string>;
  query?: string;
  headers?: Record<string, string>;
  body?: (w: World) => Json;
}

const bySku = (w: World) => ({ sku: w.sku });

export const TEMPLATES: Record<RouteKey, Template> = {
  "GET /": {},
  "GET /openapi.json": {},
  "GET /docs": {},
  "GET /docs/swagger-ui.css": {},
  "GET /docs/swagger-ui-bundle.js": {},
  "GET /health": {},
  "POST /auth/register": {
    body: () => ({ email: "fuzz-register@example.com", password: PASSWORD, name: "Fuzz Register" }),
  },
  "POST /auth/login": { body: (w) => ({ email: w.users.customer.email, password: PASSWORD }) },
  // An unknown token: 401 for refresh, 204 for logout; both documented.
  "POST /auth/refresh": { body: () => ({ refreshToken: "rt_fuzz-unknown" }) },
  "POST /auth/logout": { body: () => ({ refreshToken: "rt_fuzz-unknown" }) },
  // An unknown email (202, no email sent) and an unknown token (400 INVALID_RESET_TOKEN).
  "POST /auth/password-reset": { body: () => ({ email: "fuzz-nobody@example.com" }) },
  "POST /auth/password-reset/confirm": {
    body: () => ({ token: "fuzz-unknown", password: PASSWORD }),
  },
  "GET /me": { role: "customer" },
  "PATCH /me": { role: "customer", body: () => ({ name: "Fuzz Customer" }) },
  "POST /me/password": {
    role: "customer",
    body: () => ({ currentPassword: PASSWORD, newPassword: PASSWORD }),
  },
  "GET /staff": { role: "admin" },
  "PATCH /staff/{id}": {
    role: "admin",
    path: (w) => ({ id: w.users.stock_manager.id }),
    body: () => ({ role: "stock_manager", disabled: false }),
  },
  "POST /staff": {
    role: "admin",
    body: () => ({
      email: "fuzz-staff@example.com",
      password: PASSWORD,
      name: "Staff",
      role: "ops",
    }),
  },
  "GET /products": { query: "limit=5&category=fuzz&q=FUZZ" },
  "POST /products": {
    role: "stock_manager",
    body: () => ({
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
    }),
  },
  "GET /products/{sku}": { path: bySku },
  "PATCH /products/{sku}": {
    role: "stock_manager",
    path: bySku,
    body: () => ({
      name: "Renamed",
      description: "Still the same thing",
      priceCents: 1000,
      currency: "EUR",
      category: "fuzz",
      imageUrls: ["https://example.com/b.png"],
      attributes: { size: "M" },
    }),
  },
  // The fuzz customer has no delivered order of the SKU: a well-formed review is 403, documented.
  "POST /products/{sku}/reviews": {
    role: "customer",
    path: bySku,
    body: () => ({ rating: 5, title: "Great", body: "Fits well.\nWould buy again." }),
  },
  "GET /products/{sku}/reviews": { path: bySku, query: "limit=5" },
  "GET /inventory": { role: "stock_manager", query: "low=true" },
  "PUT /inventory/{sku}": { role: "stock_manager", path: bySku, body: () => ({ minQuantity: 5 }) },
  "POST /inventory/{sku}/adjustments": {
    role: "stock_manager",
    path: bySku,
    body: () => ({ delta: 1, reason: "restock", note: "fuzz" }),
  },
  "GET /inventory/{sku}/movements": { role: "stock_manager", path: bySku, query: "limit=5" },
  "POST /carts": { role: "customer" },
  "GET /carts/{id}": { role: "customer", path: (w) => ({ id: w.cartId }) },
  "PUT /carts/{id}/items/{sku}": {
    role: "customer",
    path: (w) => ({ id: w.cartId, sku: w.sku }),
    body: () => ({ quantity: 1 }),
  },
  "DELETE /carts/{id}/items/{sku}": {
    role: "customer",
    path: (w) => ({ id: w.anonymousCartId, sku: w.otherSku }),
  },
  // Unknown (404) until POST /promotions makes it: both answers are the documented kind.
  "PUT /carts/{id}/promotion": {
    role: "customer",
    path: (w) => ({ id: w.cartId }),
    body: () => ({ code: "fuzz-10" }),
  },
  "DELETE /carts/{id}/promotion": { role: "customer", path: (w) => ({ id: w.cartId }) },
  "POST /checkout": {
    role: "customer",
    headers: { "idempotency-key": "template-key" },
    body: (w) => ({
      cartId: w.cartId,
      shippingAddress: { ...address, line2: "Flat 1" },
      payment: { method: "cash_on_delivery" },
    }),
  },
  "GET /orders": { role: "customer", query: "limit=5&status=placed" },
  "GET /orders/{id}": { role: "customer", path: (w) => ({ id: w.orderId }) },
  "POST /orders/{id}/cancel": { role: "customer", path: (w) => ({ id: w.orderId }) },
  "POST /orders/{id}/release": { role: "ops", path: (w) => ({ id: w.orderId }) },
  "POST /orders/{id}/ship": {
    role: "ops",
    path: (w) => ({ id: w.orderId }),
    body: () => ({
      carrier: "DHL",
      trackingNumber: "00340434161094042557",
      trackingUrl: "https://www.dhl.com/track?n=00340434161094042557",
    }),
  },
  "POST /orders/{id}/deliver": { role: "ops", path: (w) => ({ id: w.orderId }) },
  "GET /me/wallet": { role: "customer", query: "limit=5" },
  "GET /customers/{id}/wallet": {
    role: "ops",
    path: (w) => ({ id: w.users.customer.id }),
    query: "limit=5",
  },
  "POST /customers/{id}/wallet/transactions": {
    role: "ops",
    path: (w) => ({ id: w.users.customer.id }),
    body: () => ({ amountCents: 100, reason: "goodwill", note: "fuzz" }),
  },
  "POST /promotions": {
    role: "admin",
    body: () => ({ code: "FUZZ-10", kind: "percent", value: 10, usageLimit: 5 }),
  },
  "GET /reports/sales": { role: "ops", query: "from=2026-01-01&to=2026-01-31" },
  "GET /reports/inventory": { role: "stock_manager" },
  "GET /promotions": { role: "admin", query: "limit=5" },
  "GET /promotions/{code}": { role: "admin", path: () => ({ code: "FUZZ-10" }) },
  "PATCH /promotions/{code}": {
    role: "admin",
    path: () => ({ code: "FUZZ-10" }),
    body: () => ({ active: false, usageLimit: 7 }),
  },
  // Its body is bytes under Stripe's signature, not a JSON document of ours: without a valid
  // signature every body is refused alike (INVALID_SIGNATURE), so the JSON body tables leave it out
  // and card-payments.test.ts forges its signatures.
  "POST /webhooks/stripe": {},
};

export const templateOf = (route: HttpRoute) => TEMPLATES[routeKey(route)];

/** The route's valid body in this world. */
export const validBody = (w: World, route: HttpRoute): Json => templateOf(route).body?.(w) as Json;

export const paramNames = (path: string) =>
  [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);

export function fillPath(path: string, segment: (name: string) => string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => segment(name));
}

/** What a case changes in a template's request; the rest stays valid. */
export interface Override {
  segment?: (name: string) => string | undefined;
  query?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** null: no token at all. */
  role?: Role | null;
}

/** The template as a request in this world, with whatever the case overrides. */
export function fromTemplate(w: World, route: HttpRoute, override: Override = {}): Sent {
  const tpl = templateOf(route);
  const params = tpl.path?.(w);
  const path = fillPath(
    route.path,
    (name) => override.segment?.(name) ?? encodeURIComponent(params?.[name] ?? ""),
  );
  const query = override.query ?? tpl.query;
  const role = override.role === undefined ? tpl.role : override.role;
  const headers: Record<string, string> = { ...tpl.headers };
  if (tpl.body) headers["content-type"] = "application/json";
  if (role) headers.authorization = `Bearer ${w.users[role].token}`;
  // A fresh key each time, or the checkout would answer with the order a previous case placed.
  if (headers["idempotency-key"]) headers["idempotency-key"] = randomUUID();
  Object.assign(headers, override.headers);
  return {
    method: route.method,
    url: query ? `${path}?${query}` : path,
    headers,
    body: override.body ?? (tpl.body ? JSON.stringify(tpl.body(w)) : undefined),
  };
}

export const routesWith = (predicate: (route: HttpRoute, tpl: Template) => boolean) =>
  routes.filter((route) => predicate(route, templateOf(route)));

/** The routes that read a body. */
export const BODY_ROUTES = routesWith((_, tpl) => tpl.body !== undefined);

/** The routes with parameters in their path. */
export const ROUTES_WITH_PARAMS = routesWith((route) => paramNames(route.path).length > 0);

/** The routes that return a page and a cursor. */
export const LIST_ROUTES = routesWith((route) =>
  [
    "GET /products",
    "GET /orders",
    "GET /inventory/{sku}/movements",
    "GET /products/{sku}/reviews",
  ].includes(routeKey(route)),
);

/** Register, login and staff hash a password with scrypt: a fifth of a second per valid body. */
export const hashesPasswords = (route: HttpRoute) =>
  route.path.startsWith("/auth/") || route.path === "/staff";
