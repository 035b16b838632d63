import { randomUUID } from "node:crypto";
import {
  hashPassword,
  issueToken,
  type Principal,
  type Role,
  type User,
} from "@flashstock/core/auth/index";
import { type CreateProductInput, createProduct } from "@flashstock/core/catalog/index";
import type { Db } from "@flashstock/core/db/index";
import { confirmOrder, deliverOrder, shipOrder } from "@flashstock/core/order/index";
import { call } from "./api.ts";

export const PASSWORD = "correct horse battery";
// scrypt is slow on purpose; tests that need many users share one hash of PASSWORD.
let passwordHash: Promise<string> | undefined;

export interface TestUser extends User {
  token: string;
  principal: Principal;
}

/** A user of the given role, inserted directly, with a valid token. */
export async function createUser(
  db: Db,
  role: Role = "customer",
  name = "Test User",
): Promise<TestUser> {
  passwordHash ??= hashPassword(PASSWORD);
  const email = `${role}-${randomUUID()}@example.com`;
  const { rows } = await db.query<{ id: string; created_at: Date }>(
    "INSERT INTO users (email, password_hash, name, role) VALUES ($1, $2, $3, $4) RETURNING id, created_at",
    [email, await passwordHash, name, role],
  );
  const row = rows[0] as { id: string; created_at: Date };
  const user: User = { id: row.id, email, name, role, createdAt: row.created_at.toISOString() };
  const token = await issueToken({ secret: process.env.JWT_SECRET as string }, user);
  return { ...user, token, principal: { userId: user.id, role } };
}

let skuCounter = 0;

/** A product with its stock, created through the core (so its opening balance is in the ledger). */
export async function createTestProduct(
  db: Db,
  overrides: Partial<CreateProductInput> = {},
): Promise<CreateProductInput> {
  const input: CreateProductInput = {
    sku: `SKU-${process.pid}-${++skuCounter}-${randomUUID().slice(0, 8)}`,
    name: "Test product",
    description: "",
    priceCents: 1000,
    currency: "EUR",
    category: null,
    imageUrls: [],
    attributes: {},
    available: 10,
    minQuantity: 0,
    maxPerCustomer: null,
    availableFrom: null,
    ...overrides,
  };
  await createProduct(db, input, randomUUID());
  return input;
}

export const address = {
  name: "Ada Lovelace",
  line1: "12 St James's Square",
  city: "London",
  postalCode: "SW1Y 4JH",
  country: "GB",
};

/** A cart owned by the user, holding the given lines, made through the API. */
export async function cartWith(user: TestUser, lines: Record<string, number>): Promise<string> {
  const cart = await call("POST", "/carts", { token: user.token });
  if (cart.status !== 201) throw new Error(`cart: ${cart.status} ${cart.text}`);
  for (const [sku, quantity] of Object.entries(lines)) {
    const r = await call("PUT", `/carts/${cart.body.id}/items/${sku}`, {
      token: user.token,
      body: { quantity },
    });
    if (r.status !== 200) throw new Error(`set item: ${r.status} ${r.text}`);
  }
  return cart.body.id;
}

/** How a test pays unless it says otherwise: at the door, which needs no wallet and no provider. */
export const cashOnDelivery = { method: "cash_on_delivery" } as const;

export function checkout(
  user: TestUser,
  cartId: string,
  key = randomUUID(),
  shippingAddress = address,
  payment: { method: string } = cashOnDelivery,
) {
  return call("POST", "/checkout", {
    token: user.token,
    headers: { "idempotency-key": key },
    body: { cartId, shippingAddress, payment },
  });
}

/**
 * Checkout as a storefront does it: a 503 SERVICE_UNAVAILABLE (no verdict reached, e.g. the pool
 * waited too long for a connection on a loaded machine) is sent again with the same
 * Idempotency-Key, as the README tells clients; the answer is the first verdict.
 */
export async function checkoutUntilVerdict(
  user: TestUser,
  cartId: string,
  key = randomUUID(),
  shippingAddress = address,
  payment: { method: string } = cashOnDelivery,
) {
  let reply = await checkout(user, cartId, key, shippingAddress, payment);
  for (let retry = 0; reply.status === 503 && retry < 50; retry++) {
    await new Promise((r) => setTimeout(r, 50 + 10 * retry));
    reply = await checkout(user, cartId, key, shippingAddress, payment);
  }
  return reply;
}

/**
 * An order of one unit of `sku` by `buyer`, placed through the API (cash on delivery, at an
 * address of its own unless `line1` repeats another's, so that it is held as a duplicate only on
 * purpose) and moved by ops as far as `until` (through the core, in `db`). A delivered order is
 * what makes its buyer a verified buyer of the SKU.
 */
export async function orderOfOne(
  buyer: TestUser,
  sku: string,
  options: { line1?: string } & (
    | { until?: "placed" }
    | { until: "shipped" | "delivered"; db: Db }
  ) = {},
): Promise<{ id: string; status: string }> {
  const line1 = options.line1 ?? `${randomUUID()} Fixture Lane`;
  const cart = await cartWith(buyer, { [sku]: 1 });
  const r = await checkout(buyer, cart, randomUUID(), { ...address, line1 });
  if (r.status !== 201) throw new Error(`checkout: ${r.status} ${r.text}`);
  const order = r.body as { id: string; status: string };
  if (!("db" in options)) return order;
  const { db, until } = options;
  if (!(await confirmOrder(db, order.id))) throw new Error(`order ${order.id} is ${order.status}`);
  const ops = await createUser(db, "ops");
  await shipOrder(db, order.id, ops.principal, { carrier: "DHL", trackingNumber: "42" });
  if (until === "delivered") await deliverOrder(db, order.id, ops.principal);
  return { id: order.id, status: until };
}

/** One user of each role, for tests of who may do what. */
export async function createOneOfEachRole(db: Db) {
  const [manager, admin, ops, customer] = await Promise.all([
    createUser(db, "stock_manager"),
    createUser(db, "admin"),
    createUser(db, "ops"),
    createUser(db, "customer"),
  ]);
  return { manager, admin, ops, customer } as {
    manager: TestUser;
    admin: TestUser;
    ops: TestUser;
    customer: TestUser;
  };
}
