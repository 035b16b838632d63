/**
 * Flash-sale rules on a product: a limit of units per customer across orders that are not
 * cancelled, and a sale start time. Told early in the cart, enforced atomically at checkout, so
 * that one customer's parallel checkouts of several carts can never exceed the limit.
 */
import { randomUUID } from "node:crypto";
import { unitsHeld } from "@flashstock/core/cart/index";
import { call } from "@flashstock/testing/api";
import {
  availableOf,
  expectLedgerConsistent,
  tablesSnapshot,
  useDatabase,
} from "@flashstock/testing/database";
import {
  address,
  cartWith,
  checkout,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { afterEach, describe, expect, it } from "vitest";

const t = useDatabase();

afterEach(async () => {
  await expectLedgerConsistent(t.db);
});

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
const anHourAgo = () => new Date(Date.now() - 3_600_000).toISOString();

const setLine = (user: TestUser, cartId: string, sku: string, quantity: number) =>
  call("PUT", `/carts/${cartId}/items/${sku}`, { token: user.token, body: { quantity } });

const newCart = async (user: TestUser) =>
  (await call("POST", "/carts", { token: user.token })).body.id as string;

describe("product answers", () => {
  it.each([
    ["anonymous", undefined, false],
    ["customer", "customer", false],
    ["stock_manager", "stock_manager", true],
    ["ops", "ops", true],
    ["admin", "admin", true],
  ] as const)(
    "show maxPerCustomer and availableFrom to everyone, and minQuantity to staff only (%s)",
    async (_, role, seesMinimum) => {
      // Prepare
      const product = await createTestProduct(t.db, {
        minQuantity: 4,
        maxPerCustomer: 2,
        availableFrom: "2030-01-01T10:00:00.000Z",
      });
      const token = role ? (await createUser(t.db, role)).token : undefined;

      // Act
      const one = await call("GET", `/products/${product.sku}`, token ? { token } : {});
      const listed = await call("GET", `/products?q=${product.sku}`, token ? { token } : {});

      // Assess
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({
        maxPerCustomer: 2,
        availableFrom: "2030-01-01T10:00:00.000Z",
      });
      expect(one.body.minQuantity).toBe(seesMinimum ? 4 : undefined);
      expect(listed.body.items).toEqual([one.body]);
    },
  );

  it("lets stock managers set, change and clear both rules, answering with the low-stock line", async () => {
    // Prepare
    const manager = await createUser(t.db, "stock_manager");
    const sku = `RULES-${randomUUID().slice(0, 8)}`;

    // Act
    const created = await call("POST", "/products", {
      token: manager.token,
      body: {
        sku,
        name: "Drop",
        priceCents: 9_900,
        available: 50,
        minQuantity: 5,
        maxPerCustomer: 1,
        availableFrom: "2030-06-01T08:00:00+02:00",
      },
    });
    const changed = await call("PATCH", `/products/${sku}`, {
      token: manager.token,
      body: { maxPerCustomer: 3, availableFrom: null },
    });
    const cleared = await call("PATCH", `/products/${sku}`, {
      token: manager.token,
      body: { maxPerCustomer: null },
    });

    // Assess
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      maxPerCustomer: 1,
      availableFrom: "2030-06-01T06:00:00.000Z",
      minQuantity: 5,
    });
    expect(changed.body).toMatchObject({ maxPerCustomer: 3, availableFrom: null });
    expect(cleared.body).toMatchObject({ maxPerCustomer: null, availableFrom: null });
  });

  it.each([0, -1, 1.5, "2"])(
    "refuses maxPerCustomer %j with 400 VALIDATION_FAILED",
    async (bad) => {
      // Prepare
      const manager = await createUser(t.db, "stock_manager");
      const product = await createTestProduct(t.db);

      // Act
      const r = await call("PATCH", `/products/${product.sku}`, {
        token: manager.token,
        body: { maxPerCustomer: bad },
      });

      // Assess
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION_FAILED");
    },
  );
});

describe("a sale that has not started", () => {
  it("cannot be put in a cart: 409 NOT_YET_AVAILABLE with its start, and the cart is unchanged", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const from = inAnHour();
    const product = await createTestProduct(t.db, { availableFrom: from });
    const cartId = await newCart(buyer);

    // Act
    const r = await setLine(buyer, cartId, product.sku, 1);

    // Assess
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({
      code: "NOT_YET_AVAILABLE",
      details: { sku: product.sku, availableFrom: new Date(from).toISOString() },
    });
    expect((await call("GET", `/carts/${cartId}`, { token: buyer.token })).body.items).toEqual([]);
  });

  it("cannot be bought from a cart filled before its start was moved later, and nothing changes", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const manager = await createUser(t.db, "stock_manager");
    const product = await createTestProduct(t.db, { availableFrom: anHourAgo(), available: 5 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    await call("PATCH", `/products/${product.sku}`, {
      token: manager.token,
      body: { availableFrom: inAnHour() },
    });
    const before = await tablesSnapshot(t.db);

    // Act
    const r = await checkout(buyer, cartId);

    // Assess
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("NOT_YET_AVAILABLE");
    expect(await tablesSnapshot(t.db)).toEqual(before);
  });

  it("sells once its start has passed", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { availableFrom: anHourAgo() });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });

    // Act
    const r = await checkout(buyer, cartId);

    // Assess
    expect(r.status).toBe(201);
  });
});

describe("a limit per customer", () => {
  it("refuses a cart line above it: 409 PURCHASE_LIMIT with the limit, what was bought and what was asked", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { maxPerCustomer: 2 });
    const cartId = await newCart(buyer);

    // Act
    const r = await setLine(buyer, cartId, product.sku, 3);

    // Assess
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({
      code: "PURCHASE_LIMIT",
      details: { sku: product.sku, limit: 2, alreadyBought: 0, requested: 3 },
    });
  });

  it("counts what the customer already holds in orders that are not cancelled, and frees a cancelled order's units", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { maxPerCustomer: 2, available: 10 });
    const first = await checkout(buyer, await cartWith(buyer, { [product.sku]: 2 }));
    const cartId = await newCart(buyer);

    // Act
    const refused = await setLine(buyer, cartId, product.sku, 1);
    await call("POST", `/orders/${first.body.id}/cancel`, { token: buyer.token });
    const allowed = await setLine(buyer, cartId, product.sku, 2);
    const bought = await checkout(buyer, cartId);

    // Assess
    expect(refused.body.error).toMatchObject({
      code: "PURCHASE_LIMIT",
      details: { limit: 2, alreadyBought: 2, requested: 1 },
    });
    expect(allowed.status).toBe(200);
    expect(bought.status).toBe(201);
  });

  it("is per customer: another customer buys up to it too", async () => {
    // Prepare
    const [ann, bob] = [await createUser(t.db), await createUser(t.db)];
    const product = await createTestProduct(t.db, { maxPerCustomer: 2, available: 10 });
    await checkout(ann, await cartWith(ann, { [product.sku]: 2 }));

    // Act
    const r = await checkout(bob, await cartWith(bob, { [product.sku]: 2 }));

    // Assess
    expect(r.status).toBe(201);
    expect(await availableOf(t.db, product.sku)).toBe(6);
  });

  it("holds at checkout when one customer checks out 10 carts of 1 unit at once: exactly 2 orders, 8 answers 409 PURCHASE_LIMIT", async () => {
    // Prepare: the carts are filled before anything is bought, so the cart's check lets them all in.
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { maxPerCustomer: 2, available: 100 });
    const carts = [];
    for (let i = 0; i < 10; i++) carts.push(await cartWith(buyer, { [product.sku]: 1 }));

    // Act
    const answers = await Promise.all(
      carts.map((cartId) =>
        checkout(buyer, cartId, randomUUID(), address, { method: "cash_on_delivery" }),
      ),
    );

    // Assess
    const statuses = answers.map((a) => `${a.status} ${a.body.error?.code ?? ""}`.trim()).sort();
    expect(statuses).toEqual([...Array(2).fill("201"), ...Array(8).fill("409 PURCHASE_LIMIT")]);
    expect(await availableOf(t.db, product.sku)).toBe(98);
    expect(await unitsHeld(t.db, buyer.id, product.sku)).toBe(2);
  });
});

describe("prices that move under the buyer", () => {
  const pay = { method: "cash_on_delivery" } as const;
  const checkoutExpecting = (buyer: TestUser, cartId: string, expectedTotalCents?: number) =>
    call("POST", "/checkout", {
      token: buyer.token,
      headers: { "idempotency-key": randomUUID() },
      body: { cartId, shippingAddress: address, payment: pay, expectedTotalCents },
    });

  it("buys when the total is the one the storefront showed", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { priceCents: 1_000 });
    const cartId = await cartWith(buyer, { [product.sku]: 3 });

    // Act
    const r = await checkoutExpecting(buyer, cartId, 3_000);

    // Assess
    expect(r.status).toBe(201);
    expect(r.body.totalCents).toBe(3_000);
  });

  it("refuses with 409 PRICE_CHANGED, naming both totals, when the price rose after the cart was filled, and changes nothing", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const admin = await createUser(t.db, "admin");
    const product = await createTestProduct(t.db, { priceCents: 1_000 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    await call("PATCH", `/products/${product.sku}`, {
      token: admin.token,
      body: { priceCents: 1_000_000_000 },
    });
    const before = await tablesSnapshot(t.db);

    // Act
    const r = await checkoutExpecting(buyer, cartId, 1_000);

    // Assess
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({
      code: "PRICE_CHANGED",
      details: { expectedTotalCents: 1_000, totalCents: 1_000_000_000, currency: "EUR" },
    });
    expect(await tablesSnapshot(t.db)).toEqual(before);
  });

  it("refuses a cart whose product changed currency since its line was set, even without an expected total, until the line is set again", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const admin = await createUser(t.db, "admin");
    const product = await createTestProduct(t.db, { priceCents: 1_000 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    await call("PATCH", `/products/${product.sku}`, {
      token: admin.token,
      body: { currency: "JPY" },
    });
    const before = await tablesSnapshot(t.db);

    // Act
    const refused = await checkoutExpecting(buyer, cartId);
    const unchanged = await tablesSnapshot(t.db);
    await setLine(buyer, cartId, product.sku, 1);
    const bought = await checkoutExpecting(buyer, cartId);

    // Assess
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: "PRICE_CHANGED",
      details: { expectedTotalCents: null, totalCents: 1_000, currency: "JPY" },
    });
    expect(unchanged).toEqual(before);
    expect(bought.status).toBe(201);
    expect(bought.body.currency).toBe("JPY");
  });
});
