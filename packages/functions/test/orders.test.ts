import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Schema } from "@flashstock/client/index";
import { call } from "@flashstock/testing/api";
import {
  availableOf,
  countRows,
  expectLedgerConsistent,
  outboxData,
  useDatabase,
} from "@flashstock/testing/database";
import {
  cartWith,
  checkout,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { afterEach, describe, expect, it } from "vitest";

const t = useDatabase();

type Order = Schema<"Order">;

const available = (sku: string) => availableOf(t.db, sku);

const count = (from: string, values: unknown[] = []) => countRows(t.db, from, values);

const outboxRows = (type: string, key: "orderId" | "sku", value: string) =>
  outboxData(t.db, type, key, value);

/** Places an order through the API. Orders are a few milliseconds apart, so "newest" is defined. */
async function placeOrder(user: TestUser, lines: Record<string, number>): Promise<Order> {
  await sleep(3);
  const r = await checkout(user, await cartWith(user, lines));
  if (r.status !== 201) throw new Error(`checkout: ${r.status} ${r.text}`);
  return r.body;
}

const list = (user: TestUser, query = "") =>
  call("GET", `/orders${query ? `?${query}` : ""}`, { token: user.token });

/** Every order the user can see, following nextCursor to the end. */
async function listAll(user: TestUser, query = ""): Promise<Order[]> {
  const all: Order[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams(query);
    params.set("limit", "100");
    if (cursor) params.set("cursor", cursor);
    const r = await list(user, params.toString());
    expect(r.status).toBe(200);
    all.push(...r.body.items);
    cursor = r.body.nextCursor;
  } while (cursor);
  return all;
}

const cancel = (id: string, user?: TestUser) =>
  call("POST", `/orders/${id}/cancel`, user ? { token: user.token } : {});

const cursorOf = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString("base64url");

const byNewest = (a: Order, b: Order) =>
  a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1;

afterEach(async () => {
  await expectLedgerConsistent(t.db);
});

describe("GET /orders", () => {
  it("lists only the customer's own orders, newest first", async () => {
    // Prepare
    const me = await createUser(t.db);
    const someoneElse = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 100 });
    const first = await placeOrder(me, { [product.sku]: 1 });
    const theirs = await placeOrder(someoneElse, { [product.sku]: 1 });
    const second = await placeOrder(me, { [product.sku]: 2 });
    const third = await placeOrder(me, { [product.sku]: 3 });

    // Act
    const r = await list(me);

    // Assess
    expect(r.status).toBe(200);
    expect(r.body.items.map((o: Order) => o.id)).toEqual([third.id, second.id, first.id]);
    expect(r.body.items[0]).toEqual(third);
    expect(r.body.nextCursor).toBeNull();
    const theirList = await list(someoneElse);
    expect(theirList.body.items.map((o: Order) => o.id)).toEqual([theirs.id]);
  });

  it("returns an empty page for a customer without orders", async () => {
    // Prepare
    const newcomer = await createUser(t.db);

    // Act
    const r = await list(newcomer);

    // Assess
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ items: [], nextCursor: null });
  });

  it("pages with nextCursor, never repeating or skipping an order, even when orders arrive meanwhile", async () => {
    // Prepare
    const me = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 100 });
    const placed: Order[] = [];
    for (let i = 0; i < 5; i++) placed.push(await placeOrder(me, { [product.sku]: 1 }));
    const newestFirst = placed.map((o) => o.id).reverse();

    // Act
    const page1 = await list(me, "limit=2");
    const late = await placeOrder(me, { [product.sku]: 1 });
    const page2 = await list(me, `limit=2&cursor=${page1.body.nextCursor}`);
    const page3 = await list(me, `limit=2&cursor=${page2.body.nextCursor}`);

    // Assess
    for (const page of [page1, page2, page3]) expect(page.status).toBe(200);
    expect(page1.body.items.map((o: Order) => o.id)).toEqual(newestFirst.slice(0, 2));
    expect(page2.body.items.map((o: Order) => o.id)).toEqual(newestFirst.slice(2, 4));
    expect(page3.body.items.map((o: Order) => o.id)).toEqual(newestFirst.slice(4));
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    expect(page2.body.nextCursor).toEqual(expect.any(String));
    expect(page3.body.nextCursor).toBeNull();
    // The order placed during the walk is on a fresh first page.
    expect((await list(me, "limit=1")).body.items[0].id).toBe(late.id);
  });

  it("gives no nextCursor when the last page is exactly full", async () => {
    // Prepare
    const me = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 100 });
    await placeOrder(me, { [product.sku]: 1 });
    await placeOrder(me, { [product.sku]: 1 });

    // Act
    const r = await list(me, "limit=2");

    // Assess
    expect(r.body.items).toHaveLength(2);
    expect(r.body.nextCursor).toBeNull();
  });

  it("filters by ?status=", async () => {
    // Prepare
    const me = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 100 });
    const kept = await placeOrder(me, { [product.sku]: 1 });
    const cancelled = await placeOrder(me, { [product.sku]: 1 });
    expect((await cancel(cancelled.id, me)).status).toBe(200);

    // Act
    const onlyCancelled = await list(me, "status=cancelled");
    const onlyPlaced = await list(me, "status=placed");
    const confirmed = await list(me, "status=confirmed");

    // Assess
    expect(onlyCancelled.body.items.map((o: Order) => [o.id, o.status])).toEqual([
      [cancelled.id, "cancelled"],
    ]);
    expect(onlyPlaced.body.items.map((o: Order) => [o.id, o.status])).toEqual([
      [kept.id, "placed"],
    ]);
    expect(confirmed.body.items).toEqual([]);
  });

  it.each(["ops", "admin"] as const)(
    "shows %s every customer's orders, newest first, and filters them by status",
    async (role) => {
      // Prepare
      const staff = await createUser(t.db, role);
      const ann = await createUser(t.db);
      const bob = await createUser(t.db);
      const product = await createTestProduct(t.db, { available: 100 });
      const annOrder = await placeOrder(ann, { [product.sku]: 1 });
      const bobOrder = await placeOrder(bob, { [product.sku]: 1 });
      const bobCancelled = await placeOrder(bob, { [product.sku]: 1 });
      expect((await cancel(bobCancelled.id, bob)).status).toBe(200);

      // Act
      const all = await listAll(staff);
      const cancelledOnly = await listAll(staff, "status=cancelled");

      // Assess
      const ids = all.map((o) => o.id);
      expect(ids).toEqual(expect.arrayContaining([annOrder.id, bobOrder.id, bobCancelled.id]));
      expect(all).toEqual([...all].sort(byNewest));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength((await count("orders")) ?? -1);
      expect(cancelledOnly.every((o) => o.status === "cancelled")).toBe(true);
      expect(cancelledOnly.map((o) => o.id)).toContain(bobCancelled.id);
      expect(cancelledOnly.map((o) => o.id)).not.toContain(bobOrder.id);
    },
  );

  it.each([
    ["an unknown status", "VALIDATION_FAILED", "status=lost"],
    ["a limit of 0", "VALIDATION_FAILED", "limit=0"],
    ["a limit above 100", "VALIDATION_FAILED", "limit=101"],
    ["a limit that is not a number", "VALIDATION_FAILED", "limit=ten"],
    ["a cursor this API never issued", "INVALID_CURSOR", "cursor=bm90LWEtY3Vyc29y"],
    ["a product list's cursor", "INVALID_CURSOR", `cursor=${cursorOf(["SKU-1"])}`],
    [
      "a cursor at an impossible date",
      "INVALID_CURSOR",
      `cursor=${cursorOf(["2024-02-30T00:00:00.000Z", randomUUID()])}`,
    ],
    [
      "a cursor in year 0, which Postgres cannot hold",
      "INVALID_CURSOR",
      `cursor=${cursorOf(["0000-01-01T00:00:00.000Z", randomUUID()])}`,
    ],
  ])("refuses %s with 400 %s", async (_label, code, query) => {
    // Prepare
    const me = await createUser(t.db);

    // Act
    const r = await list(me, query);

    // Assess
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe(code);
  });

  it("refuses a caller without a token with 401 UNAUTHENTICATED", async () => {
    // Act
    const r = await call("GET", "/orders");

    // Assess
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("UNAUTHENTICATED");
  });
});

describe("GET /orders/{id}", () => {
  it("serves a customer their own order", async () => {
    // Prepare
    const me = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const order = await placeOrder(me, { [product.sku]: 2 });

    // Act
    const r = await call("GET", `/orders/${order.id}`, { token: me.token });

    // Assess
    expect(r.status).toBe(200);
    expect(r.body).toEqual(order);
  });

  it("answers 404 NOT_FOUND to a customer asking for another customer's order", async () => {
    // Prepare
    const owner = await createUser(t.db);
    const other = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const order = await placeOrder(owner, { [product.sku]: 1 });

    // Act
    const r = await call("GET", `/orders/${order.id}`, { token: other.token });

    // Assess
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("NOT_FOUND");
    expect(r.text).not.toContain(owner.id);
  });

  it("refuses a stock manager every order, list and one (403 FORBIDDEN): orders hold shipping addresses", async () => {
    // Prepare
    const manager = await createUser(t.db, "stock_manager");
    const owner = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const order = await placeOrder(owner, { [product.sku]: 1 });

    // Act
    const answers = [
      await call("GET", "/orders", { token: manager.token }),
      await call("GET", `/orders/${order.id}`, { token: manager.token }),
      await call("POST", `/orders/${order.id}/cancel`, { token: manager.token }),
    ];

    // Assess
    for (const r of answers) expect([r.status, r.body.error.code]).toEqual([403, "FORBIDDEN"]);
    expect(answers.map((r) => r.text).join("")).not.toContain(order.shippingAddress.line1);
  });

  it.each(["ops", "admin"] as const)("serves %s any customer's order", async (role) => {
    // Prepare
    const staff = await createUser(t.db, role);
    const owner = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const order = await placeOrder(owner, { [product.sku]: 1 });

    // Act
    const r = await call("GET", `/orders/${order.id}`, { token: staff.token });

    // Assess
    expect(r.status).toBe(200);
    expect(r.body).toEqual(order);
  });

  it("answers 404 for an unknown order and 400 for an id that is not a UUID", async () => {
    // Prepare
    const me = await createUser(t.db);

    // Act
    const unknown = await call("GET", `/orders/${randomUUID()}`, { token: me.token });
    const malformed = await call("GET", "/orders/42", { token: me.token });

    // Assess
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("NOT_FOUND");
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("VALIDATION_FAILED");
  });

  it("refuses a caller without a token with 401 UNAUTHENTICATED", async () => {
    // Prepare
    const owner = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const order = await placeOrder(owner, { [product.sku]: 1 });

    // Act
    const r = await call("GET", `/orders/${order.id}`);

    // Assess
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("UNAUTHENTICATED");
  });
});

describe("POST /orders/{id}/cancel", () => {
  it("lets the owner cancel: 200 cancelled, stock restored with a 'cancellation' movement, an 'order.cancelled' event", async () => {
    // Prepare
    const owner = await createUser(t.db);
    const a = await createTestProduct(t.db, { available: 10 });
    const b = await createTestProduct(t.db, { available: 5 });
    const order = await placeOrder(owner, { [a.sku]: 3, [b.sku]: 5 });
    expect(await available(a.sku)).toBe(7);
    expect(await available(b.sku)).toBe(0);

    // Act
    const r = await cancel(order.id, owner);

    // Assess
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      ...order,
      status: "cancelled",
      payment: { ...order.payment, status: "cancelled" },
      history: [...order.history, { status: "cancelled", at: r.body.updatedAt }],
      updatedAt: r.body.updatedAt,
    });
    expect(await available(a.sku)).toBe(10);
    expect(await available(b.sku)).toBe(5);
    const { rows } = await t.db.query(
      `SELECT sku, delta, available_after, actor_id FROM stock_movements
        WHERE reason = 'cancellation' AND order_id = $1`,
      [order.id],
    );
    expect(rows).toHaveLength(2);
    expect(rows).toEqual(
      expect.arrayContaining([
        { sku: a.sku, delta: 3, available_after: 10, actor_id: owner.id },
        { sku: b.sku, delta: 5, available_after: 5, actor_id: owner.id },
      ]),
    );
    const events = await outboxRows("order.cancelled", "orderId", order.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      orderId: order.id,
      customerId: owner.id,
      cancelledBy: owner.id,
    });
    const read = await call("GET", `/orders/${order.id}`, { token: owner.token });
    expect(read.body.status).toBe("cancelled");
  });

  it("writes 'inventory.restocked' when cancelling lifts stock back to minQuantity, and not otherwise", async () => {
    // Prepare
    const owner = await createUser(t.db);
    const crossing = await createTestProduct(t.db, { available: 10, minQuantity: 5 });
    const stillLow = await createTestProduct(t.db, { available: 3, minQuantity: 5 });
    const noMinimum = await createTestProduct(t.db, { available: 4, minQuantity: 0 });
    const order = await placeOrder(owner, {
      [crossing.sku]: 6,
      [stillLow.sku]: 1,
      [noMinimum.sku]: 4,
    });

    // Act
    const r = await cancel(order.id, owner);

    // Assess
    expect(r.status).toBe(200);
    expect(await outboxRows("inventory.restocked", "sku", crossing.sku)).toEqual([
      { sku: crossing.sku, available: 10, minQuantity: 5, orderId: order.id },
    ]);
    expect(await outboxRows("inventory.restocked", "sku", stillLow.sku)).toEqual([]);
    expect(await outboxRows("inventory.restocked", "sku", noMinimum.sku)).toEqual([]);
  });

  it("refuses a second cancel with 409 INVALID_STATE and restores stock only once", async () => {
    // Prepare
    const owner = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 10 });
    const order = await placeOrder(owner, { [product.sku]: 4 });
    expect((await cancel(order.id, owner)).status).toBe(200);

    // Act
    const again = await cancel(order.id, owner);

    // Assess
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("INVALID_STATE");
    expect(await available(product.sku)).toBe(10);
    expect(
      await count("stock_movements WHERE order_id = $1 AND reason = 'cancellation'", [order.id]),
    ).toBe(1);
    expect(await outboxRows("order.cancelled", "orderId", order.id)).toHaveLength(1);
  });

  it("restores stock once when the owner and ops cancel at the same moment", async () => {
    // Prepare
    const owner = await createUser(t.db);
    const ops = await createUser(t.db, "ops");
    const product = await createTestProduct(t.db, { available: 10 });
    const order = await placeOrder(owner, { [product.sku]: 4 });

    // Act
    const results = await Promise.all([cancel(order.id, owner), cancel(order.id, ops)]);

    // Assess
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(results.find((r) => r.status === 409)?.body.error.code).toBe("INVALID_STATE");
    expect(await available(product.sku)).toBe(10);
    expect(
      await count("stock_movements WHERE order_id = $1 AND reason = 'cancellation'", [order.id]),
    ).toBe(1);
    expect(await outboxRows("order.cancelled", "orderId", order.id)).toHaveLength(1);
  });

  it.each(["ops", "admin"] as const)("lets %s cancel any customer's order", async (role) => {
    // Prepare
    const staff = await createUser(t.db, role);
    const owner = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 10 });
    const order = await placeOrder(owner, { [product.sku]: 2 });

    // Act
    const r = await cancel(order.id, staff);

    // Assess
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("cancelled");
    expect(r.body.customerId).toBe(owner.id);
    expect(await available(product.sku)).toBe(10);
    const events = await outboxRows("order.cancelled", "orderId", order.id);
    expect(events).toEqual([expect.objectContaining({ cancelledBy: staff.id })]);
  });

  it.each([
    ["another customer", 404, "NOT_FOUND", "customer"],
    ["a stock_manager", 403, "FORBIDDEN", "stock_manager"],
  ] as const)("refuses %s with %i %s and changes nothing", async (_label, status, code, role) => {
    // Prepare
    const owner = await createUser(t.db);
    const intruder = await createUser(t.db, role);
    const product = await createTestProduct(t.db, { available: 10 });
    const order = await placeOrder(owner, { [product.sku]: 2 });

    // Act
    const r = await cancel(order.id, intruder);

    // Assess
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(await available(product.sku)).toBe(8);
    expect((await call("GET", `/orders/${order.id}`, { token: owner.token })).body.status).toBe(
      "placed",
    );
    expect(await outboxRows("order.cancelled", "orderId", order.id)).toEqual([]);
  });

  it("refuses a caller without a token with 401 and an unknown order with 404", async () => {
    // Prepare
    const owner = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 10 });
    const order = await placeOrder(owner, { [product.sku]: 2 });

    // Act
    const anonymous = await cancel(order.id);
    const unknown = await cancel(randomUUID(), owner);

    // Assess
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe("UNAUTHENTICATED");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("NOT_FOUND");
    expect(await available(product.sku)).toBe(8);
  });

  it("cancels an order that is on hold", async () => {
    // Prepare
    const owner = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 10 });
    const order = await placeOrder(owner, { [product.sku]: 2 });
    await t.db.query("UPDATE orders SET status = 'on_hold' WHERE id = $1", [order.id]);

    // Act
    const r = await cancel(order.id, owner);

    // Assess
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("cancelled");
    expect(await available(product.sku)).toBe(10);
  });

  it.each(["shipped", "delivered"])(
    "refuses to cancel a %s order with 409 INVALID_STATE, naming the statuses that can be",
    async (status) => {
      // Prepare
      const owner = await createUser(t.db);
      const product = await createTestProduct(t.db, { available: 10 });
      const order = await placeOrder(owner, { [product.sku]: 2 });
      await t.db.query("UPDATE orders SET status = $2 WHERE id = $1", [order.id, status]);

      // Act
      const r = await cancel(order.id, owner);

      // Assess
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe("INVALID_STATE");
      expect(r.body.error.details).toEqual({
        orderId: order.id,
        status,
        allowed: ["awaiting_payment", "placed", "on_hold", "confirmed"],
      });
      expect(await available(product.sku)).toBe(8);
    },
  );

  it("lets the units of a cancelled order be sold again", async () => {
    // Prepare
    const first = await createUser(t.db);
    const second = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 2 });
    const order = await placeOrder(first, { [product.sku]: 2 });
    const cartId = await cartWith(second, {});
    const refused = await call("PUT", `/carts/${cartId}/items/${product.sku}`, {
      token: second.token,
      body: { quantity: 2 },
    });
    expect(refused.status).toBe(409);

    // Act
    expect((await cancel(order.id, first)).status).toBe(200);
    const resold = await checkout(second, await cartWith(second, { [product.sku]: 2 }));

    // Assess
    expect(resold.status).toBe(201);
    expect(await available(product.sku)).toBe(0);
  });
});
