import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import {
  availableOf,
  countRows,
  expectLedgerConsistent,
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

const available = (sku: string) => availableOf(t.db, sku);

const movementCount = (sku: string) => countRows(t.db, "stock_movements WHERE sku = $1", [sku]);

const newCart = async (user?: TestUser): Promise<string> => {
  const r = await call("POST", "/carts", user ? { token: user.token } : {});
  expect(r.status).toBe(201);
  return r.body.id;
};

const setItem = (cartId: string, sku: string, quantity: unknown, user?: TestUser) =>
  call("PUT", `/carts/${cartId}/items/${sku}`, {
    ...(user ? { token: user.token } : {}),
    body: { quantity },
  });

const removeItem = (cartId: string, sku: string, user?: TestUser) =>
  call("DELETE", `/carts/${cartId}/items/${sku}`, user ? { token: user.token } : {});

const getCart = (cartId: string, user?: TestUser) =>
  call("GET", `/carts/${cartId}`, user ? { token: user.token } : {});

afterEach(async () => {
  await expectLedgerConsistent(t.db);
});

describe("POST /carts and GET /carts/{id}", () => {
  it("creates an empty open anonymous cart and serves it back by id", async () => {
    // Act
    const created = await call("POST", "/carts");

    // Assess
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: "open",
      items: [],
      subtotalCents: 0,
      promotion: null,
      discountCents: 0,
      totalCents: 0,
      currency: "EUR",
    });
    const read = await getCart(created.body.id);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    const { rows } = await t.db.query("SELECT customer_id FROM carts WHERE id = $1", [
      created.body.id,
    ]);
    expect(rows).toEqual([{ customer_id: null }]);
  });

  it("makes a cart created with a customer token belong to that customer", async () => {
    // Prepare
    const owner = await createUser(t.db);

    // Act
    const created = await call("POST", "/carts", { token: owner.token });

    // Assess
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "open", items: [], subtotalCents: 0 });
    const { rows } = await t.db.query("SELECT customer_id FROM carts WHERE id = $1", [
      created.body.id,
    ]);
    expect(rows).toEqual([{ customer_id: owner.id }]);
    expect((await getCart(created.body.id, owner)).status).toBe(200);
  });

  it("answers 404 NOT_FOUND for a cart id that does not exist", async () => {
    // Act
    const r = await getCart(randomUUID());

    // Assess
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("NOT_FOUND");
  });

  it("answers 400 VALIDATION_FAILED for a cart id that is not a UUID", async () => {
    // Act
    const r = await getCart("not-a-uuid");

    // Assess
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_FAILED");
  });

  it("refuses a bad token with 401 instead of treating the caller as anonymous", async () => {
    // Prepare
    const carts = async () =>
      (await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM carts")).rows[0]?.n;
    const before = await carts();

    // Act
    const r = await call("POST", "/carts", { token: "not.a.token" });

    // Assess
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("UNAUTHENTICATED");
    expect(await carts()).toBe(before);
  });
});

describe("PUT /carts/{id}/items/{sku}", () => {
  it("sets a line, changes its quantity, and computes line totals and the subtotal", async () => {
    // Prepare
    const a = await createTestProduct(t.db, { name: "Alpha", priceCents: 1250, available: 10 });
    const b = await createTestProduct(t.db, { name: "Beta", priceCents: 399, available: 10 });
    const cartId = await newCart();

    // Act
    const first = await setItem(cartId, a.sku, 2);
    const second = await setItem(cartId, b.sku, 3);
    const changed = await setItem(cartId, a.sku, 5);

    // Assess
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      id: cartId,
      status: "open",
      items: [
        { sku: a.sku, name: "Alpha", quantity: 2, unitPriceCents: 1250, lineTotalCents: 2500 },
      ],
      subtotalCents: 2500,
      promotion: null,
      discountCents: 0,
      totalCents: 2500,
      currency: "EUR",
    });
    expect(second.status).toBe(200);
    expect(second.body.subtotalCents).toBe(2500 + 1197);
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({
      id: cartId,
      status: "open",
      items: [
        { sku: a.sku, name: "Alpha", quantity: 5, unitPriceCents: 1250, lineTotalCents: 6250 },
        { sku: b.sku, name: "Beta", quantity: 3, unitPriceCents: 399, lineTotalCents: 1197 },
      ],
      subtotalCents: 6250 + 1197,
      promotion: null,
      discountCents: 0,
      totalCents: 6250 + 1197,
      currency: "EUR",
    });
    expect((await getCart(cartId)).body).toEqual(changed.body);
  });

  it("removes the line when the quantity is set to 0", async () => {
    // Prepare
    const a = await createTestProduct(t.db, { priceCents: 100 });
    const b = await createTestProduct(t.db, { priceCents: 200 });
    const cartId = await newCart();
    await setItem(cartId, a.sku, 1);
    await setItem(cartId, b.sku, 2);

    // Act
    const r = await setItem(cartId, a.sku, 0);

    // Assess
    expect(r.status).toBe(200);
    expect(r.body.items.map((i: { sku: string }) => i.sku)).toEqual([b.sku]);
    expect(r.body.subtotalCents).toBe(400);
    const { rows } = await t.db.query("SELECT sku FROM cart_items WHERE cart_id = $1", [cartId]);
    expect(rows).toEqual([{ sku: b.sku }]);
  });

  it("accepts exactly the available quantity and refuses one more with 409 INSUFFICIENT_STOCK and its details", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 4 });
    const cartId = await newCart();
    expect((await setItem(cartId, product.sku, 1)).status).toBe(200);

    // Act
    const atLimit = await setItem(cartId, product.sku, 4);
    const over = await setItem(cartId, product.sku, 5);

    // Assess
    expect(atLimit.status).toBe(200);
    expect(atLimit.body.items[0].quantity).toBe(4);
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe("INSUFFICIENT_STOCK");
    expect(over.body.error.details).toEqual({ sku: product.sku, requested: 5, available: 4 });
    // The refused change left the line as it was.
    expect((await getCart(cartId)).body.items[0].quantity).toBe(4);
  });

  it("refuses any quantity of a sold-out product with 409 INSUFFICIENT_STOCK", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 0 });
    const cartId = await newCart();

    // Act
    const r = await setItem(cartId, product.sku, 1);

    // Assess
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("INSUFFICIENT_STOCK");
    expect(r.body.error.details).toEqual({ sku: product.sku, requested: 1, available: 0 });
    expect((await getCart(cartId)).body.items).toEqual([]);
  });

  it("answers 404 NOT_FOUND for an unknown SKU and adds nothing", async () => {
    // Prepare
    const cartId = await newCart();

    // Act
    const r = await setItem(cartId, `NOPE-${randomUUID()}`, 1);

    // Assess
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("NOT_FOUND");
    expect((await getCart(cartId)).body.items).toEqual([]);
  });

  it("answers 404 NOT_FOUND for an unknown cart", async () => {
    // Prepare
    const product = await createTestProduct(t.db);

    // Act
    const r = await setItem(randomUUID(), product.sku, 1);

    // Assess
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("NOT_FOUND");
  });

  it.each([
    ["negative", -1],
    ["fractional", 1.5],
    ["a string", "2"],
    ["null", null],
    ["a boolean", true],
    ["huge (above 10000)", 10_001],
    ["beyond 2^53", 2 ** 60],
  ])("refuses a quantity that is %s with 400 VALIDATION_FAILED", async (_label, quantity) => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 1_000_000 });
    const cartId = await newCart();

    // Act
    const r = await setItem(cartId, product.sku, quantity);

    // Assess
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_FAILED");
    expect(r.body.error.details.in).toBe("body");
    expect((await getCart(cartId)).body.items).toEqual([]);
  });

  it("accepts the largest allowed quantity (10000)", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { priceCents: 3, available: 20_000 });
    const cartId = await newCart();

    // Act
    const r = await setItem(cartId, product.sku, 10_000);

    // Assess
    expect(r.status).toBe(200);
    expect(r.body.items[0]).toMatchObject({ quantity: 10_000, lineTotalCents: 30_000 });
  });

  it.each([
    ["a missing quantity", "VALIDATION_FAILED", { body: {} }],
    ["an unknown field", "VALIDATION_FAILED", { body: { quantity: 1, price: 0 } }],
    ["an infinite number", "VALIDATION_FAILED", { rawBody: '{"quantity": 1e400}' }],
    ["malformed JSON", "MALFORMED_JSON", { rawBody: '{"quantity": ' }],
    ["no body at all", "VALIDATION_FAILED", {}],
  ])("refuses %s with 400 %s", async (_label, code, options) => {
    // Prepare
    const product = await createTestProduct(t.db);
    const cartId = await newCart();

    // Act
    const r = await call("PUT", `/carts/${cartId}/items/${product.sku}`, {
      ...options,
      ...("rawBody" in options ? { headers: { "content-type": "application/json" } } : {}),
    });

    // Assess
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe(code);
    expect((await getCart(cartId)).body.items).toEqual([]);
  });

  it("refuses a SKU in the path that no product could have with 400 VALIDATION_FAILED", async () => {
    // Prepare
    const cartId = await newCart();

    // Act
    const r = await setItem(cartId, encodeURIComponent("x' OR '1'='1"), 1);

    // Assess
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_FAILED");
    expect(r.body.error.details.in).toBe("path");
  });

  it("refuses to mix currencies in one cart with 409 CURRENCY_MISMATCH", async () => {
    // Prepare
    const euro = await createTestProduct(t.db, { currency: "EUR" });
    const dollar = await createTestProduct(t.db, { currency: "USD" });
    const cartId = await newCart();
    await setItem(cartId, euro.sku, 1);

    // Act
    const r = await setItem(cartId, dollar.sku, 1);

    // Assess
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("CURRENCY_MISMATCH");
    expect((await getCart(cartId)).body.items.map((i: { sku: string }) => i.sku)).toEqual([
      euro.sku,
    ]);
  });

  it("prices a cart in the currency of its products", async () => {
    // Prepare
    const dollar = await createTestProduct(t.db, { currency: "USD", priceCents: 500 });
    const cartId = await newCart();

    // Act
    const r = await setItem(cartId, dollar.sku, 2);

    // Assess
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ currency: "USD", subtotalCents: 1000 });
  });

  it("reserves nothing: stock and ledger stay as they were, and two carts can each hold all of it", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 5 });
    const movementsBefore = await movementCount(product.sku);
    const first = await newCart();
    const second = await newCart();

    // Act
    const r1 = await setItem(first, product.sku, 5);
    const r2 = await setItem(second, product.sku, 5);

    // Assess
    expect(r1.status).toBe(200);
    expect(r2.status).toBe(200);
    expect(await available(product.sku)).toBe(5);
    expect(await movementCount(product.sku)).toBe(movementsBefore);
  });
});

describe("DELETE /carts/{id}/items/{sku}", () => {
  it("removes the line and returns the cart", async () => {
    // Prepare
    const a = await createTestProduct(t.db, { priceCents: 700 });
    const b = await createTestProduct(t.db, { priceCents: 300 });
    const cartId = await newCart();
    await setItem(cartId, a.sku, 2);
    await setItem(cartId, b.sku, 1);

    // Act
    const r = await removeItem(cartId, a.sku);

    // Assess
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      id: cartId,
      status: "open",
      items: [{ sku: b.sku, name: b.name, quantity: 1, unitPriceCents: 300, lineTotalCents: 300 }],
      subtotalCents: 300,
      promotion: null,
      discountCents: 0,
      totalCents: 300,
      currency: "EUR",
    });
    expect((await getCart(cartId)).body).toEqual(r.body);
  });

  it("answers 200 with the cart unchanged for a product that is not in the cart", async () => {
    // Prepare
    const inCart = await createTestProduct(t.db);
    const notInCart = await createTestProduct(t.db);
    const cartId = await newCart();
    const before = (await setItem(cartId, inCart.sku, 1)).body;

    // Act
    const r = await removeItem(cartId, notInCart.sku);

    // Assess
    expect(r.status).toBe(200);
    expect(r.body).toEqual(before);
  });

  it("answers 404 NOT_FOUND for an unknown SKU", async () => {
    // Prepare
    const cartId = await newCart();

    // Act
    const r = await removeItem(cartId, `NOPE-${randomUUID()}`);

    // Assess
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("NOT_FOUND");
  });
});

describe("who can reach a cart", () => {
  it("hides a customer's cart from another customer and from anonymous callers (404 on every route)", async () => {
    // Prepare
    const owner = await createUser(t.db);
    const other = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const cartId = await cartWith(owner, { [product.sku]: 2 });

    // Act
    const responses = [
      await getCart(cartId, other),
      await getCart(cartId),
      await setItem(cartId, product.sku, 1, other),
      await setItem(cartId, product.sku, 1),
      await removeItem(cartId, product.sku, other),
      await removeItem(cartId, product.sku),
    ];

    // Assess
    for (const r of responses) {
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe("NOT_FOUND");
    }
    const mine = await getCart(cartId, owner);
    expect(mine.status).toBe(200);
    expect(mine.body.items).toEqual([expect.objectContaining({ sku: product.sku, quantity: 2 })]);
  });

  it("hides a customer's cart from staff too", async () => {
    // Prepare
    const owner = await createUser(t.db);
    const admin = await createUser(t.db, "admin");
    const cartId = await newCart(owner);

    // Act
    const r = await getCart(cartId, admin);

    // Assess
    expect(r.status).toBe(404);
  });

  it("lets whoever holds an anonymous cart's id read and change it, with or without a token", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { priceCents: 100 });
    const customer = await createUser(t.db);
    const cartId = await newCart();

    // Act
    const anonymousSet = await setItem(cartId, product.sku, 1);
    const customerSet = await setItem(cartId, product.sku, 3, customer);
    const customerRead = await getCart(cartId, customer);
    const anonymousRead = await getCart(cartId);

    // Assess
    expect(anonymousSet.status).toBe(200);
    expect(customerSet.status).toBe(200);
    expect(customerRead.status).toBe(200);
    expect(anonymousRead.body).toEqual(customerRead.body);
    expect(anonymousRead.body.items[0].quantity).toBe(3);
    // Touching an anonymous cart does not make it anyone's.
    const { rows } = await t.db.query("SELECT customer_id FROM carts WHERE id = $1", [cartId]);
    expect(rows).toEqual([{ customer_id: null }]);
  });
});

describe("a checked-out cart", () => {
  it("can no longer change: 409 CART_CLOSED on set and on delete, and the lines stay as ordered", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const a = await createTestProduct(t.db);
    const b = await createTestProduct(t.db);
    const cartId = await cartWith(buyer, { [a.sku]: 1 });
    expect((await checkout(buyer, cartId)).status).toBe(201);

    // Act
    const change = await setItem(cartId, a.sku, 2, buyer);
    const add = await setItem(cartId, b.sku, 1, buyer);
    const remove = await removeItem(cartId, a.sku, buyer);

    // Assess
    for (const r of [change, add, remove]) {
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe("CART_CLOSED");
    }
    const cart = await getCart(cartId, buyer);
    expect(cart.body.status).toBe("checked_out");
    expect(cart.body.items).toEqual([expect.objectContaining({ sku: a.sku, quantity: 1 })]);
  });
});
