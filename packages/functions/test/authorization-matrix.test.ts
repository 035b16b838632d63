/**
 * The authorization matrix: every route of the topology, called by every kind of caller
 * (no token, a forged token, an expired token, a customer and each staff role), must answer exactly
 * as README's HTTP API table says; and no customer can reach another customer's cart or order.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { issueToken } from "@flashstock/core/auth/index";
import { confirmOrder, shipOrder } from "@flashstock/core/order/index";
import { CreatePromotionInput, createPromotion } from "@flashstock/core/promotion/index";
import { type ApiResponse, call } from "@flashstock/testing/api";
import { countRows, orderStatus, tablesSnapshot, useDatabase } from "@flashstock/testing/database";
import { useFakeStripe } from "@flashstock/testing/fake-stripe";
import {
  address,
  cartWith,
  checkout,
  createOneOfEachRole,
  createTestProduct,
  createUser,
  orderOfOne,
  PASSWORD,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { reportScenario } from "@flashstock/testing/scenario";
import { beforeAll, describe, expect, it } from "vitest";
import { routes } from "../../../infra/topology.ts";

const t = useDatabase();
const stripe = useFakeStripe();

// ---------------------------------------------------------------------------------------------
// The documented matrix, as data
// ---------------------------------------------------------------------------------------------

const IDENTITIES = [
  "no token",
  "forged token",
  "expired token",
  "customer",
  "stock_manager",
  "ops",
  "admin",
] as const;
type Identity = (typeof IDENTITIES)[number];
const STAFF = ["stock_manager", "ops", "admin"] as const;
const SIGNED_IN = ["customer", ...STAFF] as const;

/** What a "who" phrase of README's table means: who gets through, and whether tokens are read. */
interface Rule {
  /** The identities that succeed. */
  allowed: readonly Identity[];
  /** A public route ignores the Authorization header, even a bad one. */
  readsToken: boolean;
}

/** Every phrase of README's "who" column, and what it grants. */
const WHO: Record<string, Rule> = {
  anyone: { allowed: IDENTITIES, readsToken: false },
  "anyone (token optional)": { allowed: ["no token", ...SIGNED_IN], readsToken: true },
  // The matrix calls the cart routes on an anonymous cart; owned carts are tested further down.
  "the cart's owner, or anyone for an anonymous cart": {
    allowed: ["no token", ...SIGNED_IN],
    readsToken: true,
  },
  same: { allowed: ["no token", ...SIGNED_IN], readsToken: true },
  admin: { allowed: ["admin"], readsToken: true },
  "stock_manager, admin": { allowed: ["stock_manager", "admin"], readsToken: true },
  customer: { allowed: ["customer"], readsToken: true },
  "customers (their own), ops, admin": {
    allowed: ["customer", "ops", "admin"],
    readsToken: true,
  },
  "any signed-in user (their own account)": { allowed: SIGNED_IN, readsToken: true },
  "the owner, ops, admin": { allowed: ["customer", "ops", "admin"], readsToken: true },
  "ops, admin": { allowed: ["ops", "admin"], readsToken: true },
  "stock_manager, ops, admin": { allowed: ["stock_manager", "ops", "admin"], readsToken: true },
};

type RouteKey = (typeof routes)[number] extends infer R
  ? R extends { method: infer M extends string; path: infer P extends string }
    ? `${M} ${P}`
    : never
  : never;

interface Request {
  url: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

interface Row {
  /** The route's "who" cell in README, verbatim. */
  who: keyof typeof WHO;
  /** The status of a successful call. */
  success: number;
  /** A fresh request that succeeds for an allowed caller (made anew for every call). */
  request: () => Promise<Request>;
}

interface World {
  users: { customer: TestUser; stock_manager: TestUser; ops: TestUser; admin: TestUser };
  sku: string;
  promotion: string;
  forgedToken: string;
  expiredToken: string;
}
let w: World;

const email = () => `matrix-${randomUUID()}@example.com`;

/** A placed order of the matrix's customer. */
async function placedOrder(): Promise<string> {
  // A new address each time: the same order twice in 30 minutes would be held as a duplicate.
  const shipTo = { ...address, line1: `${randomUUID()} Placed Lane` };
  const cart = await cartWith(w.users.customer, { [w.sku]: 1 });
  const r = await checkout(w.users.customer, cart, randomUUID(), shipTo);
  if (r.status !== 201) throw new Error(`checkout: ${r.status} ${r.text}`);
  return r.body.id;
}

/** An order of the matrix's customer held as a suspected duplicate (a unique address each time). */
async function heldOrder(): Promise<string> {
  const shipTo = { ...address, line1: `${randomUUID()} Held Street` };
  const cart = () => cartWith(w.users.customer, { [w.sku]: 1 });
  const first = await checkout(w.users.customer, await cart(), randomUUID(), shipTo);
  const second = await checkout(w.users.customer, await cart(), randomUUID(), shipTo);
  if (first.status !== 201 || second.body.status !== "on_hold") {
    throw new Error(`held order: ${first.status} ${second.status} ${second.text}`);
  }
  return second.body.id;
}

/** A placed order of the matrix's customer that fulfilment has confirmed. */
async function confirmedOrder(): Promise<string> {
  const id = await placedOrder();
  if (!(await confirmOrder(t.db, id))) throw new Error(`order ${id} not confirmable`);
  return id;
}

/** A confirmed order of the matrix's customer that ops have shipped. */
async function shippedOrder(): Promise<string> {
  const id = await confirmedOrder();
  await shipOrder(t.db, id, w.users.ops.principal, { carrier: "DHL", trackingNumber: "1" });
  return id;
}

/** A new product that the matrix's customer has received (a delivered order): theirs to review. */
async function receivedSku(): Promise<string> {
  const product = await createTestProduct(t.db);
  await orderOfOne(w.users.customer, product.sku, { until: "delivered", db: t.db });
  return product.sku;
}

async function anonymousCart(lines: Record<string, number> = {}): Promise<string> {
  const cart = await call("POST", "/carts");
  for (const [sku, quantity] of Object.entries(lines)) {
    await call("PUT", `/carts/${cart.body.id}/items/${sku}`, { body: { quantity } });
  }
  return cart.body.id;
}

const MATRIX = {
  "GET /": { who: "anyone", success: 200, request: async () => ({ url: "/" }) },
  "GET /openapi.json": {
    who: "anyone",
    success: 200,
    request: async () => ({ url: "/openapi.json" }),
  },
  "GET /docs": { who: "anyone", success: 200, request: async () => ({ url: "/docs" }) },
  "GET /docs/swagger-ui.css": {
    who: "anyone",
    success: 200,
    request: async () => ({ url: "/docs/swagger-ui.css" }),
  },
  "GET /docs/swagger-ui-bundle.js": {
    who: "anyone",
    success: 200,
    request: async () => ({ url: "/docs/swagger-ui-bundle.js" }),
  },
  "GET /health": { who: "anyone", success: 200, request: async () => ({ url: "/health" }) },
  "POST /auth/register": {
    who: "anyone",
    success: 201,
    request: async () => ({
      url: "/auth/register",
      body: { email: email(), password: PASSWORD, name: "Matrix" },
    }),
  },
  "POST /auth/login": {
    who: "anyone",
    success: 200,
    request: async () => ({
      url: "/auth/login",
      body: { email: w.users.customer.email, password: PASSWORD },
    }),
  },
  "POST /auth/refresh": {
    who: "anyone",
    success: 200,
    request: async () => {
      const login = await call("POST", "/auth/login", {
        body: { email: w.users.customer.email, password: PASSWORD },
      });
      return { url: "/auth/refresh", body: { refreshToken: login.body.refreshToken } };
    },
  },
  "POST /auth/password-reset": {
    who: "anyone",
    success: 202,
    request: async () => ({ url: "/auth/password-reset", body: { email: email() } }),
  },
  "POST /auth/password-reset/confirm": {
    who: "anyone",
    success: 200,
    request: async () => {
      // A reset token as the emailed link carries it, stored as the request would store it.
      const token = randomBytes(32).toString("base64url");
      await t.db.query(
        `INSERT INTO password_reset_tokens (token_hash, user_id, expires_at)
         VALUES (sha256(convert_to($1, 'UTF8')), $2, now() + interval '30 minutes')`,
        [token, w.users.customer.id],
      );
      return { url: "/auth/password-reset/confirm", body: { token, password: PASSWORD } };
    },
  },
  "POST /auth/logout": {
    who: "anyone",
    success: 204,
    request: async () => ({ url: "/auth/logout", body: { refreshToken: "rt_not-a-token" } }),
  },
  "GET /me": {
    who: "any signed-in user (their own account)",
    success: 200,
    request: async () => ({ url: "/me" }),
  },
  "PATCH /me": {
    who: "any signed-in user (their own account)",
    success: 200,
    request: async () => ({ url: "/me", body: { name: "Matrix" } }),
  },
  "POST /me/password": {
    who: "any signed-in user (their own account)",
    success: 204,
    request: async () => ({
      url: "/me/password",
      body: { currentPassword: PASSWORD, newPassword: PASSWORD },
    }),
  },
  "POST /staff": {
    who: "admin",
    success: 201,
    request: async () => ({
      url: "/staff",
      body: { email: email(), password: PASSWORD, name: "Staff", role: "ops" },
    }),
  },
  "GET /staff": { who: "admin", success: 200, request: async () => ({ url: "/staff" }) },
  "PATCH /staff/{id}": {
    who: "admin",
    success: 200,
    request: async () => {
      const target = await createUser(t.db, "stock_manager");
      return { url: `/staff/${target.id}`, body: { role: "ops" } };
    },
  },
  "GET /products": {
    who: "anyone (token optional)",
    success: 200,
    request: async () => ({ url: "/products?limit=2" }),
  },
  "POST /products": {
    who: "stock_manager, admin",
    success: 201,
    request: async () => ({
      url: "/products",
      body: {
        sku: `MX-${randomUUID().slice(0, 8)}`,
        name: "Matrix",
        priceCents: 100,
        available: 1,
        minQuantity: 0,
      },
    }),
  },
  "GET /products/{sku}": {
    who: "anyone (token optional)",
    success: 200,
    request: async () => ({ url: `/products/${w.sku}` }),
  },
  "PATCH /products/{sku}": {
    who: "stock_manager, admin",
    success: 200,
    request: async () => ({ url: `/products/${w.sku}`, body: { description: randomUUID() } }),
  },
  "POST /products/{sku}/reviews": {
    who: "customer",
    success: 201,
    request: async () => ({ url: `/products/${await receivedSku()}/reviews`, body: { rating: 4 } }),
  },
  "GET /products/{sku}/reviews": {
    who: "anyone",
    success: 200,
    request: async () => ({ url: `/products/${w.sku}/reviews?limit=5` }),
  },
  "GET /inventory": {
    who: "stock_manager, admin",
    success: 200,
    request: async () => ({ url: "/inventory?low=true" }),
  },
  "PUT /inventory/{sku}": {
    who: "stock_manager, admin",
    success: 200,
    request: async () => ({ url: `/inventory/${w.sku}`, body: { minQuantity: 0 } }),
  },
  "POST /inventory/{sku}/adjustments": {
    who: "stock_manager, admin",
    success: 200,
    request: async () => ({
      url: `/inventory/${w.sku}/adjustments`,
      body: { delta: 1, reason: "restock" },
    }),
  },
  "GET /inventory/{sku}/movements": {
    who: "stock_manager, admin",
    success: 200,
    request: async () => ({ url: `/inventory/${w.sku}/movements?limit=5` }),
  },
  "POST /carts": {
    who: "anyone (token optional)",
    success: 201,
    request: async () => ({ url: "/carts" }),
  },
  "GET /carts/{id}": {
    who: "the cart's owner, or anyone for an anonymous cart",
    success: 200,
    request: async () => ({ url: `/carts/${await anonymousCart()}` }),
  },
  "PUT /carts/{id}/items/{sku}": {
    who: "same",
    success: 200,
    request: async () => ({
      url: `/carts/${await anonymousCart()}/items/${w.sku}`,
      body: { quantity: 2 },
    }),
  },
  "DELETE /carts/{id}/items/{sku}": {
    who: "same",
    success: 200,
    request: async () => ({ url: `/carts/${await anonymousCart({ [w.sku]: 1 })}/items/${w.sku}` }),
  },
  "PUT /carts/{id}/promotion": {
    who: "same",
    success: 200,
    request: async () => ({
      url: `/carts/${await anonymousCart({ [w.sku]: 1 })}/promotion`,
      body: { code: w.promotion },
    }),
  },
  "DELETE /carts/{id}/promotion": {
    who: "same",
    success: 200,
    request: async () => ({ url: `/carts/${await anonymousCart()}/promotion` }),
  },
  "POST /checkout": {
    who: "customer",
    success: 201,
    request: async () => ({
      url: "/checkout",
      headers: { "idempotency-key": randomUUID() },
      body: {
        cartId: await cartWith(w.users.customer, { [w.sku]: 1 }),
        shippingAddress: { ...address, line1: `${randomUUID()} Checkout Road` },
        payment: { method: "cash_on_delivery" },
      },
    }),
  },
  "GET /orders": {
    who: "customers (their own), ops, admin",
    success: 200,
    request: async () => ({ url: "/orders?limit=5" }),
  },
  "GET /orders/{id}": {
    who: "the owner, ops, admin",
    success: 200,
    request: async () => ({ url: `/orders/${await placedOrder()}` }),
  },
  "POST /orders/{id}/cancel": {
    who: "the owner, ops, admin",
    success: 200,
    request: async () => ({ url: `/orders/${await placedOrder()}/cancel` }),
  },
  "POST /orders/{id}/release": {
    who: "ops, admin",
    success: 200,
    request: async () => ({ url: `/orders/${await heldOrder()}/release` }),
  },
  "POST /orders/{id}/ship": {
    who: "ops, admin",
    success: 200,
    request: async () => ({
      url: `/orders/${await confirmedOrder()}/ship`,
      body: { carrier: "DHL", trackingNumber: "00340434161094042557" },
    }),
  },
  "POST /orders/{id}/deliver": {
    who: "ops, admin",
    success: 200,
    request: async () => ({ url: `/orders/${await shippedOrder()}/deliver` }),
  },
  "GET /me/wallet": {
    who: "customer",
    success: 200,
    request: async () => ({ url: "/me/wallet?limit=5" }),
  },
  "GET /customers/{id}/wallet": {
    who: "ops, admin",
    success: 200,
    request: async () => ({ url: `/customers/${w.users.customer.id}/wallet` }),
  },
  "POST /customers/{id}/wallet/transactions": {
    who: "ops, admin",
    success: 201,
    request: async () => ({
      url: `/customers/${w.users.customer.id}/wallet/transactions`,
      body: { amountCents: 500, reason: "goodwill", note: "matrix" },
    }),
  },
  "GET /reports/sales": {
    who: "stock_manager, ops, admin",
    success: 200,
    request: async () => ({ url: "/reports/sales?from=2026-01-01&to=2026-01-31" }),
  },
  "GET /reports/inventory": {
    who: "stock_manager, admin",
    success: 200,
    request: async () => ({ url: "/reports/inventory" }),
  },
  "POST /promotions": {
    who: "admin",
    success: 201,
    request: async () => ({
      url: "/promotions",
      body: { code: `M-${randomUUID().slice(0, 8)}`, kind: "percent", value: 10 },
    }),
  },
  "GET /promotions": { who: "admin", success: 200, request: async () => ({ url: "/promotions" }) },
  "GET /promotions/{code}": {
    who: "admin",
    success: 200,
    request: async () => ({ url: `/promotions/${w.promotion}` }),
  },
  "PATCH /promotions/{code}": {
    who: "admin",
    success: 200,
    request: async () => ({ url: `/promotions/${w.promotion}`, body: { usageLimit: 50 } }),
  },
  // Stripe signs it; a bearer token, even a bad one, is not read.
  "POST /webhooks/stripe": {
    who: "anyone",
    success: 200,
    request: async () => {
      const { payload, signature } = stripe.event("customer.created", { id: "cus_matrix" });
      return {
        url: "/webhooks/stripe",
        rawBody: payload,
        headers: { "stripe-signature": signature, "content-type": "application/json" },
      };
    },
  },
} satisfies Record<RouteKey, Row>;

/** What the documentation promises one identity on one route. */
function expected(row: Row, identity: Identity): { status: number; code?: string } {
  const rule = WHO[row.who] as Rule;
  if (rule.allowed.includes(identity)) return { status: row.success };
  if (rule.readsToken && ["no token", "forged token", "expired token"].includes(identity)) {
    return { status: 401, code: "UNAUTHENTICATED" };
  }
  return { status: 403, code: "FORBIDDEN" };
}

function tokenOf(identity: Identity): string | undefined {
  if (identity === "no token") return undefined;
  if (identity === "forged token") return w.forgedToken;
  if (identity === "expired token") return w.expiredToken;
  return w.users[identity].token;
}

/** Every row a request could write, as one string: a refused call must leave it as it was. */
const tablesDigest = async () => JSON.stringify(await tablesSnapshot(t.db));

beforeAll(async () => {
  const { customer, manager, ops, admin } = await createOneOfEachRole(t.db);
  const product = await createTestProduct(t.db, { available: 100_000 });
  const promotion = await createPromotion(
    t.db,
    CreatePromotionInput.parse({ code: "MATRIX-10", kind: "percent", value: 10 }),
  );
  const secret = process.env.JWT_SECRET as string;
  w = {
    users: { customer, stock_manager: manager, ops, admin },
    sku: product.sku,
    promotion: promotion.code,
    // Both claim the admin, the strongest role: a real admin, a wrong secret or a past expiry.
    forgedToken: await issueToken(
      { secret: "not-the-api-secret-but-at-least-32-characters" },
      admin,
    ),
    expiredToken: await issueToken({ secret, ttlSeconds: -60 }, admin),
  };
});

const readmeTable = (): Map<string, string> => {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## The HTTP API"));
  const table = new Map<string, string>();
  for (const line of section.split("\n")) {
    const cells = /^\|\s*`([A-Z]+ [^`?]+)[^`]*`\s*\|\s*([^|]+?)\s*\|/.exec(line);
    if (cells) table.set(cells[1] as string, cells[2] as string);
    if (table.size > 0 && !line.startsWith("|")) break;
  }
  return table;
};

describe("authorization matrix", () => {
  it("has one row for every route of the topology, and none for a route that does not exist", () => {
    // Prepare
    const topologyRoutes = routes.map((r) => `${r.method} ${r.path}`).sort();

    // Act
    const matrixRoutes = Object.keys(MATRIX).sort();

    // Assess
    expect(matrixRoutes).toEqual(topologyRoutes);
  });

  it("gives every route the 'who' that README's HTTP API table documents for it", () => {
    // Act
    const documented = Object.fromEntries(readmeTable());

    // Assess
    expect(Object.fromEntries(Object.entries(MATRIX).map(([k, row]) => [k, row.who]))).toEqual(
      documented,
    );
  });

  it("answers every route, for every caller, exactly as documented, and writes nothing for a refused call", async () => {
    // Prepare
    const keys = Object.keys(MATRIX) as RouteKey[];
    const seen: string[] = [];
    const mismatches: string[] = [];
    let refused = 0;

    // Act
    for (const key of keys) {
      const row: Row = MATRIX[key];
      const [method, path] = key.split(" ") as [string, string];
      for (const identity of IDENTITIES) {
        const req = await row.request();
        const want = expected(row, identity);
        const before = want.status >= 400 ? await tablesDigest() : undefined;
        const token = tokenOf(identity);
        const res: ApiResponse = await call(method, req.url, {
          ...(token ? { token } : {}),
          ...(req.body === undefined ? {} : { body: req.body }),
          ...(req.rawBody === undefined ? {} : { rawBody: req.rawBody }),
          ...(req.headers ? { headers: req.headers } : {}),
        });
        const got = {
          status: res.status,
          ...(res.status >= 400 ? { code: res.body?.error?.code } : {}),
        };
        seen.push(`${key} as ${identity}: ${got.status}`);
        if (got.status !== want.status || got.code !== want.code) {
          mismatches.push(
            `${key} as ${identity} (${path}): expected ${JSON.stringify(want)}, got ${res.status} ${res.text.slice(0, 200)}`,
          );
        }
        if (before !== undefined) {
          refused++;
          if ((await tablesDigest()) !== before) {
            mismatches.push(`${key} as ${identity}: refused but wrote to the database`);
          }
        }
      }
    }

    // Assess
    expect(mismatches).toEqual([]);
    expect(seen).toHaveLength(keys.length * IDENTITIES.length);
    reportScenario("authorization matrix", {
      injected: `${keys.length} routes x ${IDENTITIES.length} callers (${IDENTITIES.join(", ")}) = ${seen.length} calls`,
      checked: `all ${seen.length} as README documents (${seen.length - refused} succeeded, ${refused} refused with 401/403 and wrote nothing)`,
    });
  });
});

describe("one customer's cart and orders, seen by another", () => {
  let owner: TestUser;
  let other: TestUser;
  let sku: string;
  /** A placed order of the owner, to a new address each time (so that none is held as a duplicate). */
  const ownersOrder = async (key = randomUUID(), cartId?: string) =>
    checkout(owner, cartId ?? (await cartWith(owner, { [sku]: 1 })), key, {
      ...address,
      line1: `${randomUUID()} Owner Lane`,
    });
  beforeAll(async () => {
    [owner, other] = await Promise.all([createUser(t.db), createUser(t.db)]);
    sku = (await createTestProduct(t.db, { available: 1000 })).sku;
    await createPromotion(
      t.db,
      CreatePromotionInput.parse({ code: "HIDDEN-5", kind: "percent", value: 5 }),
    );
  });

  it("hides a customer's open cart from another customer on every cart route and at checkout (404), changing nothing", async () => {
    // Prepare
    const cartId = await cartWith(owner, { [sku]: 2 });
    const before = await tablesDigest();

    // Act
    const responses = {
      get: await call("GET", `/carts/${cartId}`, { token: other.token }),
      put: await call("PUT", `/carts/${cartId}/items/${sku}`, {
        token: other.token,
        body: { quantity: 5 },
      }),
      delete: await call("DELETE", `/carts/${cartId}/items/${sku}`, { token: other.token }),
      applyPromotion: await call("PUT", `/carts/${cartId}/promotion`, {
        token: other.token,
        body: { code: "HIDDEN-5" },
      }),
      removePromotion: await call("DELETE", `/carts/${cartId}/promotion`, { token: other.token }),
      checkout: await checkout(other, cartId),
    };

    // Assess
    for (const [name, r] of Object.entries(responses)) {
      expect([name, r.status, r.body.error?.code]).toEqual([name, 404, "NOT_FOUND"]);
      expect(r.text, name).not.toContain(owner.id);
    }
    expect(await tablesDigest()).toBe(before);
    const mine = await call("GET", `/carts/${cartId}`, { token: owner.token });
    expect(mine.body).toMatchObject({ status: "open", items: [{ sku, quantity: 2 }] });
    reportScenario("another customer's cart", {
      injected:
        "GET, PUT item, DELETE item, PUT and DELETE promotion and checkout of one customer's cart with another's token",
      checked: "6 x 404 NOT_FOUND, no owner id in any answer, every table byte-identical",
    });
  });

  it("hides a customer's order from another customer: 404 on read and cancel, absent from their list", async () => {
    // Prepare
    const placed = await ownersOrder();
    expect(placed.body.status).toBe("placed");
    const orderId = placed.body.id as string;
    const before = await tablesDigest();

    // Act
    const read = await call("GET", `/orders/${orderId}`, { token: other.token });
    const cancel = await call("POST", `/orders/${orderId}/cancel`, { token: other.token });
    const list = await call("GET", "/orders?limit=100", { token: other.token });
    const byStatus = await call("GET", "/orders?limit=100&status=placed", { token: other.token });

    // Assess
    expect([read.status, read.body.error.code]).toEqual([404, "NOT_FOUND"]);
    expect([cancel.status, cancel.body.error.code]).toEqual([404, "NOT_FOUND"]);
    expect(list.status).toBe(200);
    expect(byStatus.status).toBe(200);
    for (const r of [list, byStatus]) {
      for (const order of r.body.items) expect(order.customerId).toBe(other.id);
      expect(r.text).not.toContain(orderId);
    }
    expect(await tablesDigest()).toBe(before);
    expect(await orderStatus(t.db, orderId)).toBe("placed");
  });

  it("never replays another customer's checkout for the same Idempotency-Key", async () => {
    // Prepare
    const key = randomUUID();
    const ownersCart = await cartWith(owner, { [sku]: 1 });
    const first = await ownersOrder(key, ownersCart);
    expect(first.status).toBe(201);

    // Act: the other customer sends the owner's key, once with the owner's body, once with their own
    const sameBody = await checkout(other, ownersCart, key);
    const ownCart = await checkout(other, await cartWith(other, { [sku]: 1 }), key);

    // Assess
    expect([sameBody.status, sameBody.body.error?.code]).toEqual([404, "NOT_FOUND"]);
    expect(sameBody.headers["idempotent-replayed"]).toBeUndefined();
    expect(sameBody.text).not.toContain(first.body.id);
    expect(ownCart.status).toBe(201);
    expect(ownCart.headers["idempotent-replayed"]).toBeUndefined();
    expect(ownCart.body.id).not.toBe(first.body.id);
    expect(ownCart.body.customerId).toBe(other.id);
    expect(await countRows(t.db, "orders WHERE customer_id = $1", [owner.id])).toBeGreaterThan(0);
  });

  it("lets a customer's own order be read by ops but neither read nor cancelled by a stock manager", async () => {
    // Prepare
    const { manager, ops } = await createOneOfEachRole(t.db);
    const placed = await ownersOrder();
    expect(placed.body.status).toBe("placed");
    const orderId = placed.body.id;

    // Act
    const readByOps = await call("GET", `/orders/${orderId}`, { token: ops.token });
    const readByManager = await call("GET", `/orders/${orderId}`, { token: manager.token });
    const cancel = await call("POST", `/orders/${orderId}/cancel`, { token: manager.token });

    // Assess
    expect(readByOps.status).toBe(200);
    expect(readByOps.body.customerId).toBe(owner.id);
    expect([readByManager.status, readByManager.body.error.code]).toEqual([403, "FORBIDDEN"]);
    expect([cancel.status, cancel.body.error.code]).toEqual([403, "FORBIDDEN"]);
    expect(await orderStatus(t.db, orderId)).toBe("placed");
  });
});

describe("an anonymous cart", () => {
  it("is open to whoever holds its id until checkout, then belongs to the buyer alone", async () => {
    // Prepare
    const [buyer, other] = await Promise.all([createUser(t.db), createUser(t.db)]);
    const { sku } = await createTestProduct(t.db, { available: 50 });
    const cartId = await anonymousCart();

    // Act
    const anonymousSet = await call("PUT", `/carts/${cartId}/items/${sku}`, {
      body: { quantity: 1 },
    });
    const otherSet = await call("PUT", `/carts/${cartId}/items/${sku}`, {
      token: other.token,
      body: { quantity: 2 },
    });
    const placed = await checkout(buyer, cartId);
    const afterwards = {
      anonymousGet: await call("GET", `/carts/${cartId}`),
      otherGet: await call("GET", `/carts/${cartId}`, { token: other.token }),
      anonymousPut: await call("PUT", `/carts/${cartId}/items/${sku}`, { body: { quantity: 3 } }),
      otherDelete: await call("DELETE", `/carts/${cartId}/items/${sku}`, { token: other.token }),
      otherCheckout: await checkout(other, cartId),
    };
    const buyerGet = await call("GET", `/carts/${cartId}`, { token: buyer.token });

    // Assess
    expect([anonymousSet.status, otherSet.status]).toEqual([200, 200]);
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ customerId: buyer.id, lines: [{ sku, quantity: 2 }] });
    for (const [name, r] of Object.entries(afterwards)) {
      expect([name, r.status, r.body.error?.code]).toEqual([name, 404, "NOT_FOUND"]);
    }
    expect(buyerGet.status).toBe(200);
    expect(buyerGet.body).toMatchObject({ status: "checked_out", items: [{ sku, quantity: 2 }] });
    const { rows } = await t.db.query("SELECT customer_id FROM carts WHERE id = $1", [cartId]);
    expect(rows).toEqual([{ customer_id: buyer.id }]);
    reportScenario("anonymous cart", {
      injected:
        "an anonymous cart changed without a token and by a customer, then checked out by another customer",
      checked: `open to both before checkout (2 x 200); after it, 5 x 404 for anyone but the buyer, who reads it (200, checked_out)`,
    });
  });
});
