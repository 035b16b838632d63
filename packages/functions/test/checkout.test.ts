import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import {
  availableOf,
  countRows,
  expectLedgerConsistent,
  outboxData,
  useDatabase,
} from "@flashstock/testing/database";
import {
  address,
  cartWith,
  cashOnDelivery,
  checkout,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { afterEach, describe, expect, it } from "vitest";

const t = useDatabase();

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const available = (sku: string) => availableOf(t.db, sku);

const count = (from: string, values: unknown[] = []) => countRows(t.db, from, values);

const outboxRows = (type: string, key: "orderId" | "sku", value: string) =>
  outboxData(t.db, type, key, value);

/** Everything a checkout may touch, so that "nothing changed" can be checked in one comparison. */
const snapshot = async (skus: string[]) => ({
  stock: await Promise.all(skus.map(available)),
  movements: await count("stock_movements"),
  orders: await count("orders"),
  orderLines: await count("order_lines"),
  outbox: await count("outbox"),
  idempotencyKeys: await count("idempotency_keys"),
});

const post = (user: TestUser | undefined, key: string | undefined, body: unknown) =>
  call("POST", "/checkout", {
    ...(user ? { token: user.token } : {}),
    ...(key === undefined ? {} : { headers: { "Idempotency-Key": key } }),
    body,
  });

const getCart = (cartId: string, user?: TestUser) =>
  call("GET", `/carts/${cartId}`, user ? { token: user.token } : {});

afterEach(async () => {
  await expectLedgerConsistent(t.db);
});

describe("POST /checkout: placing an order", () => {
  it("turns the cart into a placed order and returns it with 201", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const a = await createTestProduct(t.db, {
      sku: `A-${randomUUID()}`,
      name: "Alpha",
      priceCents: 1250,
    });
    const b = await createTestProduct(t.db, {
      sku: `B-${randomUUID()}`,
      name: "Beta",
      priceCents: 399,
    });
    const cartId = await cartWith(buyer, { [b.sku]: 3, [a.sku]: 2 });
    const shippingAddress = { ...address, line2: "Flat 3" };

    // Act
    const r = await checkout(buyer, cartId, randomUUID(), shippingAddress);

    // Assess
    expect(r.status).toBe(201);
    expect(r.headers["idempotent-replayed"]).toBeUndefined();
    expect(r.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: "placed",
      customerId: buyer.id,
      lines: [
        { sku: a.sku, name: "Alpha", quantity: 2, unitPriceCents: 1250 },
        { sku: b.sku, name: "Beta", quantity: 3, unitPriceCents: 399 },
      ],
      subtotalCents: 2 * 1250 + 3 * 399,
      discountCents: 0,
      promotionCode: null,
      totalCents: 2 * 1250 + 3 * 399,
      currency: "EUR",
      shippingAddress,
      hold: null,
      payment: {
        method: "cash_on_delivery",
        status: "pending",
        amountCents: 2 * 1250 + 3 * 399,
        refundedCents: 0,
        clientSecret: null,
      },
      shipment: null,
      history: [{ status: "placed", at: r.body.createdAt }],
      createdAt: expect.stringMatching(ISO_INSTANT),
      updatedAt: r.body.createdAt,
    });
    const cart = await getCart(cartId, buyer);
    expect(cart.body.status).toBe("checked_out");
    const { rows } = await t.db.query(
      "SELECT customer_id, cart_id, status, total_cents FROM orders WHERE id = $1",
      [r.body.id],
    );
    expect(rows).toEqual([
      { customer_id: buyer.id, cart_id: cartId, status: "placed", total_cents: 3697 },
    ]);
  });

  it("treats a null line2 as no line2", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const cartId = await cartWith(buyer, { [product.sku]: 1 });

    // Act
    const r = await checkout(buyer, cartId, randomUUID(), { ...address, line2: null } as never);

    // Assess
    expect(r.status).toBe(201);
    expect(r.body.shippingAddress).toEqual(address);
  });

  it("serves the same order from GET /orders/{id} as checkout returned", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const placed = await checkout(buyer, await cartWith(buyer, { [product.sku]: 1 }));

    // Act
    const read = await call("GET", `/orders/${placed.body.id}`, { token: buyer.token });

    // Assess
    expect(read.status).toBe(200);
    expect(read.body).toEqual(placed.body);
  });

  it("decrements stock and writes one 'sale' movement per line with the order id", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const a = await createTestProduct(t.db, { available: 10 });
    const b = await createTestProduct(t.db, { available: 7 });
    const cartId = await cartWith(buyer, { [a.sku]: 4, [b.sku]: 7 });

    // Act
    const r = await checkout(buyer, cartId);

    // Assess
    expect(r.status).toBe(201);
    expect(await available(a.sku)).toBe(6);
    expect(await available(b.sku)).toBe(0);
    const { rows } = await t.db.query<{ sku: string }>(
      `SELECT sku, delta, order_id, available_after, actor_id FROM stock_movements
        WHERE reason = 'sale' AND sku = ANY($1)`,
      [[a.sku, b.sku]],
    );
    expect(rows).toHaveLength(2);
    expect(rows).toEqual(
      expect.arrayContaining([
        { sku: a.sku, delta: -4, order_id: r.body.id, available_after: 6, actor_id: buyer.id },
        { sku: b.sku, delta: -7, order_id: r.body.id, available_after: 0, actor_id: buyer.id },
      ]),
    );
  });

  it("writes an 'order.placed' outbox row describing the order", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { name: "Gamma", priceCents: 250 });
    const cartId = await cartWith(buyer, { [product.sku]: 2 });

    // Act
    const r = await checkout(buyer, cartId);

    // Assess
    expect(r.status).toBe(201);
    expect(await outboxRows("order.placed", "orderId", r.body.id)).toEqual([
      {
        orderId: r.body.id,
        customerId: buyer.id,
        lines: [{ sku: product.sku, name: "Gamma", quantity: 2, unitPriceCents: 250 }],
        discountCents: 0,
        promotionCode: null,
        totalCents: 500,
        currency: "EUR",
        shippingAddress: address,
        fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
        paymentMethod: "cash_on_delivery",
      },
    ]);
  });

  it("writes 'inventory.low' when a line crosses below minQuantity, and 'inventory.out' when it reaches 0", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const crossesLow = await createTestProduct(t.db, { available: 10, minQuantity: 5 });
    const soldOut = await createTestProduct(t.db, { available: 3, minQuantity: 1 });
    const staysAbove = await createTestProduct(t.db, { available: 10, minQuantity: 2 });
    const cartId = await cartWith(buyer, {
      [crossesLow.sku]: 6,
      [soldOut.sku]: 3,
      [staysAbove.sku]: 8,
    });

    // Act
    const r = await checkout(buyer, cartId);

    // Assess
    expect(r.status).toBe(201);
    const orderId = r.body.id;
    expect(await outboxRows("inventory.low", "sku", crossesLow.sku)).toEqual([
      { sku: crossesLow.sku, available: 4, minQuantity: 5, orderId },
    ]);
    expect(await outboxRows("inventory.out", "sku", crossesLow.sku)).toEqual([]);
    expect(await outboxRows("inventory.low", "sku", soldOut.sku)).toEqual([
      { sku: soldOut.sku, available: 0, minQuantity: 1, orderId },
    ]);
    expect(await outboxRows("inventory.out", "sku", soldOut.sku)).toEqual([
      { sku: soldOut.sku, available: 0, minQuantity: 1, orderId },
    ]);
    expect(await outboxRows("inventory.low", "sku", staysAbove.sku)).toEqual([]);
    expect(await outboxRows("inventory.out", "sku", staysAbove.sku)).toEqual([]);
  });

  it("does not write 'inventory.low' again for stock that was already below minQuantity", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 3, minQuantity: 5 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });

    // Act
    const r = await checkout(buyer, cartId);

    // Assess
    expect(r.status).toBe(201);
    expect(await outboxRows("inventory.low", "sku", product.sku)).toEqual([]);
  });

  it("prices the order in the cart's currency", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { currency: "USD", priceCents: 1999 });
    const cartId = await cartWith(buyer, { [product.sku]: 2 });

    // Act
    const r = await checkout(buyer, cartId);

    // Assess
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ currency: "USD", totalCents: 3998 });
  });

  it("makes an anonymous cart the customer's when they check it out", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const other = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const cartId = (await call("POST", "/carts")).body.id;
    await call("PUT", `/carts/${cartId}/items/${product.sku}`, { body: { quantity: 2 } });

    // Act
    const r = await checkout(buyer, cartId);

    // Assess
    expect(r.status).toBe(201);
    expect(r.body.customerId).toBe(buyer.id);
    expect((await getCart(cartId)).status).toBe(404);
    expect((await getCart(cartId, other)).status).toBe(404);
    const mine = await getCart(cartId, buyer);
    expect(mine.status).toBe(200);
    expect(mine.body.status).toBe("checked_out");
    const { rows } = await t.db.query("SELECT customer_id FROM carts WHERE id = $1", [cartId]);
    expect(rows).toEqual([{ customer_id: buyer.id }]);
  });
});

describe("POST /checkout: Idempotency-Key", () => {
  it("replays the same status and body with Idempotent-Replayed: true, and decrements once", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 10 });
    const cartId = await cartWith(buyer, { [product.sku]: 3 });
    const key = randomUUID();
    const first = await checkout(buyer, cartId, key);

    // Act
    const second = await checkout(buyer, cartId, key);
    const third = await checkout(buyer, cartId, key);

    // Assess
    expect(first.status).toBe(201);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    for (const replay of [second, third]) {
      expect(replay.status).toBe(201);
      expect(replay.headers["idempotent-replayed"]).toBe("true");
      expect(replay.text).toBe(first.text);
    }
    expect(await available(product.sku)).toBe(7);
    expect(await count("orders WHERE customer_id = $1", [buyer.id])).toBe(1);
    expect(await count("stock_movements WHERE sku = $1 AND reason = 'sale'", [product.sku])).toBe(
      1,
    );
    expect(await outboxRows("order.placed", "orderId", first.body.id)).toHaveLength(1);
  });

  it("treats the same body with its fields in another order as the same request", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    const key = randomUUID();
    const first = await post(buyer, key, {
      cartId,
      shippingAddress: address,
      payment: cashOnDelivery,
    });
    const reordered = Object.fromEntries(Object.entries(address).reverse());

    // Act
    const again = await post(buyer, key, {
      payment: cashOnDelivery,
      shippingAddress: reordered,
      cartId,
    });

    // Assess
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.text).toBe(first.text);
  });

  it("refuses the same key with a different body with 422 IDEMPOTENCY_KEY_REUSED and changes nothing", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 10 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    const otherCart = await cartWith(buyer, { [product.sku]: 1 });
    const key = randomUUID();
    expect((await checkout(buyer, cartId, key)).status).toBe(201);
    const before = await snapshot([product.sku]);

    // Act
    const otherAddress = await checkout(buyer, cartId, key, { ...address, city: "Paris" });
    const otherCartSameKey = await checkout(buyer, otherCart, key);

    // Assess
    for (const r of [otherAddress, otherCartSameKey]) {
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe("IDEMPOTENCY_KEY_REUSED");
    }
    expect(await snapshot([product.sku])).toEqual(before);
    expect((await getCart(otherCart, buyer)).body.status).toBe("open");
  });

  it("scopes keys to the customer: another customer's identical key is a new request", async () => {
    // Prepare
    const first = await createUser(t.db);
    const second = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 10 });
    const key = randomUUID();
    const firstOrder = await checkout(first, await cartWith(first, { [product.sku]: 1 }), key);

    // Act
    const r = await checkout(second, await cartWith(second, { [product.sku]: 2 }), key);

    // Assess
    expect(firstOrder.status).toBe(201);
    expect(r.status).toBe(201);
    expect(r.headers["idempotent-replayed"]).toBeUndefined();
    expect(r.body.customerId).toBe(second.id);
    expect(r.body.id).not.toBe(firstOrder.body.id);
    expect(await available(product.sku)).toBe(7);
  });

  it.each([
    ["missing", undefined],
    ["empty", ""],
    ["longer than 255 characters", "k".repeat(256)],
    ["holding a control character", "key\u0001"],
    ["of spaces only", "   "],
    ["ending with a space", "key "],
    ["holding a newline", "key\nsecond line"],
    ["holding a non-ASCII character", "clé"],
  ])(
    "refuses an Idempotency-Key that is %s with 400 VALIDATION_FAILED and changes nothing",
    async (_label, key) => {
      // Prepare
      const buyer = await createUser(t.db);
      const product = await createTestProduct(t.db);
      const cartId = await cartWith(buyer, { [product.sku]: 1 });
      const before = await snapshot([product.sku]);

      // Act
      const r = await post(buyer, key, {
        cartId,
        shippingAddress: address,
        payment: cashOnDelivery,
      });

      // Assess
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe("VALIDATION_FAILED");
      expect(r.body.error.details.in).toBe("header idempotency-key");
      expect(await snapshot([product.sku])).toEqual(before);
      expect((await getCart(cartId, buyer)).body.status).toBe("open");
    },
  );

  it("accepts an Idempotency-Key of exactly 255 printable characters", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    const key = `${randomUUID()} ~!`.padEnd(255, "x");

    // Act
    const r = await post(buyer, key, { cartId, shippingAddress: address, payment: cashOnDelivery });

    // Assess
    expect(r.status).toBe(201);
    expect(await count("idempotency_keys WHERE key = $1", [key])).toBe(1);
  });
});

describe("POST /checkout: refusals and input handling", () => {
  it("refuses an empty cart with 400 CART_EMPTY and leaves it open", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const cartId = (await call("POST", "/carts", { token: buyer.token })).body.id;
    const before = await snapshot([]);

    // Act
    const r = await checkout(buyer, cartId);

    // Assess
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("CART_EMPTY");
    expect(await snapshot([])).toEqual(before);
    expect((await getCart(cartId, buyer)).body.status).toBe("open");
  });

  it("answers 404 NOT_FOUND for someone else's cart and leaves it untouched", async () => {
    // Prepare
    const owner = await createUser(t.db);
    const thief = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const cartId = await cartWith(owner, { [product.sku]: 2 });
    const before = await snapshot([product.sku]);

    // Act
    const r = await checkout(thief, cartId);

    // Assess
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("NOT_FOUND");
    expect(await snapshot([product.sku])).toEqual(before);
    expect((await getCart(cartId, owner)).body.status).toBe("open");
    expect((await checkout(owner, cartId)).status).toBe(201);
  });

  it("answers 404 NOT_FOUND for a cart that does not exist", async () => {
    // Prepare
    const buyer = await createUser(t.db);

    // Act
    const r = await checkout(buyer, randomUUID());

    // Assess
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("NOT_FOUND");
  });

  it("refuses a cart already checked out with another key with 409 CART_CLOSED", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 10 });
    const cartId = await cartWith(buyer, { [product.sku]: 2 });
    expect((await checkout(buyer, cartId)).status).toBe(201);
    const before = await snapshot([product.sku]);

    // Act
    const r = await checkout(buyer, cartId, randomUUID());

    // Assess
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("CART_CLOSED");
    expect(await snapshot([product.sku])).toEqual(before);
    expect(await available(product.sku)).toBe(8);
  });

  it("refuses with 409 INSUFFICIENT_STOCK listing every short line, changes nothing, and the key works after a restock", async () => {
    // Prepare: a cart that was valid when filled; then two of its three lines run short.
    const buyer = await createUser(t.db);
    const manager = await createUser(t.db, "stock_manager");
    const plenty = await createTestProduct(t.db, { sku: `A-${randomUUID()}`, available: 10 });
    const shortA = await createTestProduct(t.db, { sku: `B-${randomUUID()}`, available: 5 });
    const shortB = await createTestProduct(t.db, { sku: `C-${randomUUID()}`, available: 5 });
    const skus = [plenty.sku, shortA.sku, shortB.sku];
    const cartId = await cartWith(buyer, { [plenty.sku]: 2, [shortA.sku]: 4, [shortB.sku]: 5 });
    for (const [sku, delta] of [
      [shortA.sku, -3],
      [shortB.sku, -5],
    ] as const) {
      const adjusted = await call("POST", `/inventory/${sku}/adjustments`, {
        token: manager.token,
        body: { delta, reason: "damage" },
      });
      expect(adjusted.status).toBe(200);
    }
    const before = await snapshot(skus);
    const key = randomUUID();

    // Act
    const refused = await checkout(buyer, cartId, key);

    // Assess: every short line, nothing written, the cart still open.
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("INSUFFICIENT_STOCK");
    expect(refused.body.error.details.lines).toEqual([
      { sku: shortA.sku, requested: 4, available: 2 },
      { sku: shortB.sku, requested: 5, available: 0 },
    ]);
    expect(await snapshot(skus)).toEqual(before);
    expect(await available(plenty.sku)).toBe(10);
    expect(await count("orders WHERE cart_id = $1", [cartId])).toBe(0);
    expect(await count("idempotency_keys WHERE key = $1", [key])).toBe(0);
    expect((await getCart(cartId, buyer)).body.status).toBe("open");

    // Act: restock, then the same key and body again.
    for (const sku of [shortA.sku, shortB.sku]) {
      const restocked = await call("POST", `/inventory/${sku}/adjustments`, {
        token: manager.token,
        body: { delta: 5, reason: "restock" },
      });
      expect(restocked.status).toBe(200);
    }
    const retried = await checkout(buyer, cartId, key);

    // Assess: a fresh order, not a replay of the refusal.
    expect(retried.status).toBe(201);
    expect(retried.headers["idempotent-replayed"]).toBeUndefined();
    expect(await available(plenty.sku)).toBe(8);
    expect(await available(shortA.sku)).toBe(3);
    expect(await available(shortB.sku)).toBe(0);
  });

  it("refuses a staff member with 403 FORBIDDEN", async () => {
    // Prepare
    const product = await createTestProduct(t.db);
    const cartId = (await call("POST", "/carts")).body.id;
    await call("PUT", `/carts/${cartId}/items/${product.sku}`, { body: { quantity: 1 } });

    for (const role of ["stock_manager", "ops", "admin"] as const) {
      const staff = await createUser(t.db, role);

      // Act
      const r = await checkout(staff, cartId);

      // Assess
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe("FORBIDDEN");
    }
    expect((await getCart(cartId)).body.status).toBe("open");
    expect(await available(product.sku)).toBe(10);
  });

  it("refuses a caller without a token, or with a bad one, with 401 UNAUTHENTICATED", async () => {
    // Prepare
    const product = await createTestProduct(t.db);
    const cartId = (await call("POST", "/carts")).body.id;
    await call("PUT", `/carts/${cartId}/items/${product.sku}`, { body: { quantity: 1 } });
    const body = { cartId, shippingAddress: address, payment: cashOnDelivery };

    // Act
    const anonymous = await post(undefined, randomUUID(), body);
    const forged = await call("POST", "/checkout", {
      token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
      headers: { "idempotency-key": randomUUID() },
      body,
    });

    // Assess
    for (const r of [anonymous, forged]) {
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("UNAUTHENTICATED");
    }
    expect((await getCart(cartId)).body.status).toBe("open");
  });

  it.each([
    ["a missing shippingAddress", (cartId: string) => ({ cartId, payment: cashOnDelivery })],
    ["a missing cartId", () => ({ shippingAddress: address, payment: cashOnDelivery })],
    [
      "a cartId that is not a UUID",
      () => ({ cartId: "1 OR 1=1", shippingAddress: address, payment: cashOnDelivery }),
    ],
    ["a missing payment", (cartId: string) => ({ cartId, shippingAddress: address })],
    [
      "an unknown payment method",
      (cartId: string) => ({ cartId, shippingAddress: address, payment: { method: "iou" } }),
    ],
    [
      "an address without city",
      (cartId: string) => {
        const { city: _city, ...rest } = address;
        return { cartId, shippingAddress: rest, payment: cashOnDelivery };
      },
    ],
    [
      "an address with a blank line1",
      (cartId: string) => ({
        cartId,
        shippingAddress: { ...address, line1: "   " },
        payment: cashOnDelivery,
      }),
    ],
    [
      "an address with an unknown field",
      (cartId: string) => ({
        cartId,
        shippingAddress: { ...address, phone: "+44 20 7946 0000" },
        payment: cashOnDelivery,
      }),
    ],
    [
      "an unknown top-level field",
      (cartId: string) => ({
        cartId,
        shippingAddress: address,
        coupon: "FREE",
        payment: cashOnDelivery,
      }),
    ],
    [
      "a country that is not a two-letter code",
      (cartId: string) => ({
        cartId,
        shippingAddress: { ...address, country: "GBR" },
        payment: cashOnDelivery,
      }),
    ],
    [
      "a country that only upper-cases to two letters (ß)",
      (cartId: string) => ({
        cartId,
        shippingAddress: { ...address, country: "ß" },
        payment: cashOnDelivery,
      }),
    ],
    [
      "a country with digits",
      (cartId: string) => ({
        cartId,
        shippingAddress: { ...address, country: "G1" },
        payment: cashOnDelivery,
      }),
    ],
    [
      "an oversized name",
      (cartId: string) => ({
        cartId,
        shippingAddress: { ...address, name: "x".repeat(201) },
        payment: cashOnDelivery,
      }),
    ],
    [
      "an address that is a string",
      (cartId: string) => ({
        cartId,
        shippingAddress: "12 St James's Square, London",
        payment: cashOnDelivery,
      }),
    ],
  ])("refuses %s with 400 VALIDATION_FAILED and changes nothing", async (_label, makeBody) => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    const before = await snapshot([product.sku]);

    // Act
    const r = await post(buyer, randomUUID(), makeBody(cartId));

    // Assess
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("VALIDATION_FAILED");
    expect(r.body.error.details.in).toBe("body");
    expect(await snapshot([product.sku])).toEqual(before);
    expect((await getCart(cartId, buyer)).body.status).toBe("open");
  });

  it("refuses malformed JSON with 400 MALFORMED_JSON", async () => {
    // Prepare
    const buyer = await createUser(t.db);

    // Act
    const r = await call("POST", "/checkout", {
      token: buyer.token,
      headers: { "idempotency-key": randomUUID(), "content-type": "application/json" },
      rawBody: '{"cartId": "',
    });

    // Assess
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("MALFORMED_JSON");
  });

  it("refuses a body larger than the limit with 413 BODY_TOO_LARGE and changes nothing", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    const before = await snapshot([product.sku]);

    // Act
    const r = await post(buyer, randomUUID(), {
      cartId,
      shippingAddress: address,
      payment: cashOnDelivery,
      padding: "x".repeat(70 * 1024),
    });

    // Assess
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe("BODY_TOO_LARGE");
    expect(await snapshot([product.sku])).toEqual(before);
  });

  it("stores SQL-looking address text verbatim, as data", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    const shippingAddress = {
      ...address,
      name: "Robert'); DROP TABLE orders;--",
      line2: "' OR 1=1 --",
    };

    // Act
    const r = await checkout(buyer, cartId, randomUUID(), shippingAddress);

    // Assess
    expect(r.status).toBe(201);
    expect(r.body.shippingAddress).toEqual(shippingAddress);
    const { rows } = await t.db.query("SELECT shipping_address FROM orders WHERE id = $1", [
      r.body.id,
    ]);
    expect(rows).toEqual([{ shipping_address: shippingAddress }]);
  });

  it("normalises the country code to upper case", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const cartId = await cartWith(buyer, { [product.sku]: 1 });

    // Act
    const r = await checkout(buyer, cartId, randomUUID(), { ...address, country: "gb" });

    // Assess
    expect(r.status).toBe(201);
    expect(r.body.shippingAddress.country).toBe("GB");
  });
});
