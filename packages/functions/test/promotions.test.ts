/**
 * Coupon codes: applied to a cart, redeemed inside checkout's one transaction with a conditional
 * increment and a per-customer count, given back by a cancellation. No interleaving of checkouts
 * may redeem a code more often than its usageLimit, or one customer more often than its
 * perCustomerLimit; every refusal changes nothing.
 */
import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import { expectLedgerConsistent, tablesSnapshot, useDatabase } from "@flashstock/testing/database";
import {
  address,
  cartWith,
  checkout,
  checkoutUntilVerdict,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

const t = useDatabase();

afterEach(async () => {
  await expectLedgerConsistent(t.db);
});

let admin: TestUser;
beforeAll(async () => {
  admin = await createUser(t.db, "admin");
});

let codeCounter = 0;
/** A promotion made through the API, with a code of its own. */
async function createCode(fields: Record<string, unknown> = {}): Promise<string> {
  const code = `CODE-${process.pid}-${++codeCounter}`;
  const r = await call("POST", "/promotions", {
    token: admin.token,
    body: { code, kind: "percent", value: 10, ...fields },
  });
  if (r.status !== 201) throw new Error(`promotion: ${r.status} ${r.text}`);
  return code;
}

const promotionOf = async (code: string) =>
  (await call("GET", `/promotions/${code}`, { token: admin.token })).body;

const apply = (user: TestUser, cartId: string, code: string) =>
  call("PUT", `/carts/${cartId}/promotion`, { token: user.token, body: { code } });

const pay = (method: string) => ({ method });

describe("admin routes", () => {
  it("creates a code in upper case with its defaults, 201, and refuses it again in another case: 409 PROMOTION_EXISTS", async () => {
    // Act
    const created = await call("POST", "/promotions", {
      token: admin.token,
      body: { code: "new-year_26", kind: "fixed", value: 500, currency: "EUR", usageLimit: 3 },
    });
    const again = await call("POST", "/promotions", {
      token: admin.token,
      body: { code: "NEW-YEAR_26", kind: "percent", value: 5 },
    });

    // Assess
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      code: "NEW-YEAR_26",
      kind: "fixed",
      value: 500,
      currency: "EUR",
      minSubtotalCents: 0,
      startsAt: null,
      endsAt: null,
      usageLimit: 3,
      perCustomerLimit: null,
      used: 0,
      active: true,
    });
    expect([again.status, again.body.error.code]).toEqual([409, "PROMOTION_EXISTS"]);
    expect(await promotionOf("new-year_26")).toEqual(created.body);
  });

  it("refuses to lower usageLimit below the uses taken (409 PROMOTION_EXHAUSTED) and lowers it to exactly them", async () => {
    // Prepare
    const code = await createCode({ usageLimit: 5 });
    const product = await createTestProduct(t.db);
    for (let i = 0; i < 2; i++) {
      const buyer = await createUser(t.db);
      const cartId = await cartWith(buyer, { [product.sku]: 1 });
      expect((await apply(buyer, cartId, code)).status).toBe(200);
      expect((await checkout(buyer, cartId)).status).toBe(201);
    }

    // Act
    const below = await call("PATCH", `/promotions/${code}`, {
      token: admin.token,
      body: { usageLimit: 1 },
    });
    const exact = await call("PATCH", `/promotions/${code}`, {
      token: admin.token,
      body: { usageLimit: 2 },
    });

    // Assess
    expect(below.status).toBe(409);
    expect(below.body.error).toMatchObject({
      code: "PROMOTION_EXHAUSTED",
      details: { code, used: 2, usageLimit: 1 },
    });
    expect(exact.status).toBe(200);
    expect(exact.body).toMatchObject({ used: 2, usageLimit: 2 });
  });
});

describe("PUT and DELETE /carts/{id}/promotion", () => {
  it.each([
    ["10 percent of 19.99, rounded half up", { kind: "percent", value: 10 }, 1_999, 200],
    ["10 percent of 19.94, rounded half up", { kind: "percent", value: 10 }, 1_994, 199],
    ["5.00 off", { kind: "fixed", value: 500, currency: "EUR" }, 1_999, 500],
    [
      "50.00 off, capped at the subtotal",
      { kind: "fixed", value: 5_000, currency: "EUR" },
      1_999,
      1_999,
    ],
  ])("puts the code on the cart and shows its discount: %s", async (_, fields, price, discount) => {
    // Prepare
    const code = await createCode(fields);
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { priceCents: price });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });

    // Act
    const applied = await apply(buyer, cartId, code.toLowerCase());

    // Assess
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({
      subtotalCents: price,
      promotion: { code, discountCents: discount },
      discountCents: discount,
      totalCents: price - discount,
    });
    expect((await call("GET", `/carts/${cartId}`, { token: buyer.token })).body).toEqual(
      applied.body,
    );
  });

  it("takes the code off again, and a second DELETE answers the same", async () => {
    // Prepare
    const code = await createCode();
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { priceCents: 1_000 });
    const cartId = await cartWith(buyer, { [product.sku]: 2 });
    await apply(buyer, cartId, code);

    // Act
    const removed = await call("DELETE", `/carts/${cartId}/promotion`, { token: buyer.token });
    const again = await call("DELETE", `/carts/${cartId}/promotion`, { token: buyer.token });

    // Assess
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({
      promotion: null,
      discountCents: 0,
      subtotalCents: 2_000,
      totalCents: 2_000,
    });
    expect(again.body).toEqual(removed.body);
  });

  it("shows a discount of 0 once a removed line takes the subtotal under the minimum, and checkout then refuses 409 PROMOTION_MIN_SUBTOTAL", async () => {
    // Prepare
    const code = await createCode({ minSubtotalCents: 1_500 });
    const buyer = await createUser(t.db);
    const a = await createTestProduct(t.db, { priceCents: 1_000 });
    const b = await createTestProduct(t.db, { priceCents: 1_000 });
    const cartId = await cartWith(buyer, { [a.sku]: 1, [b.sku]: 1 });
    expect((await apply(buyer, cartId, code)).body.discountCents).toBe(200);

    // Act
    const shrunk = await call("DELETE", `/carts/${cartId}/items/${b.sku}`, { token: buyer.token });
    const before = await tablesSnapshot(t.db);
    const refused = await checkout(buyer, cartId);

    // Assess
    expect(shrunk.body).toMatchObject({
      promotion: { code, discountCents: 0 },
      discountCents: 0,
      totalCents: 1_000,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: "PROMOTION_MIN_SUBTOTAL",
      details: { minSubtotalCents: 1_500, subtotalCents: 1_000 },
    });
    expect(await tablesSnapshot(t.db)).toEqual(before);
  });

  /** Refusals, each set up by `prepare`, which returns the code to apply. */
  const refusals: [string, number, string, (buyer: TestUser) => Promise<string>, object][] = [
    ["an unknown code", 404, "NOT_FOUND", async () => "NO-SUCH-CODE", {}],
    [
      "a code that has not started",
      409,
      "PROMOTION_INACTIVE",
      () => createCode({ startsAt: "2030-01-01T09:00:00.000Z" }),
      { startsAt: "2030-01-01T09:00:00.000Z", endsAt: null },
    ],
    [
      "a code that has ended",
      409,
      "PROMOTION_INACTIVE",
      async () => {
        const code = await createCode({ startsAt: "2020-01-01T00:00:00.000Z" });
        await t.db.query(
          "UPDATE promotions SET ends_at = now() - interval '1 minute' WHERE code = $1",
          [code],
        );
        return code;
      },
      { startsAt: "2020-01-01T00:00:00.000Z" },
    ],
    [
      "a code turned off",
      409,
      "PROMOTION_INACTIVE",
      async () => {
        const code = await createCode();
        await call("PATCH", `/promotions/${code}`, { token: admin.token, body: { active: false } });
        return code;
      },
      { active: false },
    ],
    [
      "a subtotal under the minimum",
      409,
      "PROMOTION_MIN_SUBTOTAL",
      () => createCode({ minSubtotalCents: 5_000 }),
      { minSubtotalCents: 5_000, subtotalCents: 1_000 },
    ],
    [
      "a code whose every use is taken",
      409,
      "PROMOTION_EXHAUSTED",
      async () => {
        const code = await createCode({ usageLimit: 1 });
        const other = await createUser(t.db);
        const product = await createTestProduct(t.db);
        const cartId = await cartWith(other, { [product.sku]: 1 });
        await apply(other, cartId, code);
        expect((await checkout(other, cartId)).status).toBe(201);
        return code;
      },
      { used: 1, usageLimit: 1 },
    ],
    [
      "a code this customer has used as often as it allows",
      409,
      "PROMOTION_ALREADY_USED",
      async (buyer) => {
        const code = await createCode({ perCustomerLimit: 1 });
        const product = await createTestProduct(t.db);
        const cartId = await cartWith(buyer, { [product.sku]: 1 });
        await apply(buyer, cartId, code);
        expect((await checkout(buyer, cartId)).status).toBe(201);
        return code;
      },
      { perCustomerLimit: 1 },
    ],
    [
      "a fixed amount in another currency than the cart's",
      409,
      "CURRENCY_MISMATCH",
      () => createCode({ kind: "fixed", value: 500, currency: "USD" }),
      { currency: "USD", cartCurrency: "EUR" },
    ],
  ];

  it.each(refusals)(
    "refuses %s with %i %s, changing nothing",
    async (_, status, code, prepare, details) => {
      // Prepare
      const buyer = await createUser(t.db);
      const promotion = await prepare(buyer);
      const product = await createTestProduct(t.db, { priceCents: 1_000 });
      const cartId = await cartWith(buyer, { [product.sku]: 1 });
      const before = await tablesSnapshot(t.db);

      // Act
      const r = await apply(buyer, cartId, promotion);

      // Assess
      expect(r.status).toBe(status);
      expect(r.body.error).toMatchObject({ code, details });
      expect(await tablesSnapshot(t.db)).toEqual(before);
    },
  );
});

describe("checkout with a code", () => {
  it("redeems it: the order carries subtotal, discount and code, the total is what is paid, and used counts it", async () => {
    // Prepare
    const code = await createCode({ kind: "percent", value: 15 });
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { priceCents: 1_010 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    await apply(buyer, cartId, code);

    // Act
    const r = await call("POST", "/checkout", {
      token: buyer.token,
      headers: { "idempotency-key": randomUUID() },
      body: {
        cartId,
        shippingAddress: address,
        payment: pay("cash_on_delivery"),
        expectedTotalCents: 858,
      },
    });

    // Assess
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      subtotalCents: 1_010,
      discountCents: 152,
      promotionCode: code,
      totalCents: 858,
      payment: { amountCents: 858 },
    });
    expect((await promotionOf(code)).used).toBe(1);
  });

  it("refuses an expectedTotalCents that is the subtotal rather than the discounted total: 409 PRICE_CHANGED, nothing changed", async () => {
    // Prepare
    const code = await createCode({ kind: "fixed", value: 300, currency: "EUR" });
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { priceCents: 1_000 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    await apply(buyer, cartId, code);
    const before = await tablesSnapshot(t.db);

    // Act
    const r = await call("POST", "/checkout", {
      token: buyer.token,
      headers: { "idempotency-key": randomUUID() },
      body: {
        cartId,
        shippingAddress: address,
        payment: pay("cash_on_delivery"),
        expectedTotalCents: 1_000,
      },
    });

    // Assess
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({
      code: "PRICE_CHANGED",
      details: { expectedTotalCents: 1_000, totalCents: 700 },
    });
    expect(await tablesSnapshot(t.db)).toEqual(before);
  });

  it.each([
    [
      "turned off",
      "PROMOTION_INACTIVE",
      (code: string) =>
        call("PATCH", `/promotions/${code}`, { token: admin.token, body: { active: false } }),
    ],
    [
      "ended",
      "PROMOTION_INACTIVE",
      (code: string) =>
        t.db.query("UPDATE promotions SET ends_at = now() - interval '1 second' WHERE code = $1", [
          code,
        ]),
    ],
    [
      "used up by someone else",
      "PROMOTION_EXHAUSTED",
      async (code: string) => {
        const other = await createUser(t.db);
        const product = await createTestProduct(t.db);
        const cartId = await cartWith(other, { [product.sku]: 1 });
        await apply(other, cartId, code);
        expect((await checkout(other, cartId)).status).toBe(201);
      },
    ],
  ])(
    "refuses the whole checkout when the code was %s after it was applied (409 %s), changing nothing",
    async (_, errorCode, change) => {
      // Prepare
      const code = await createCode({ usageLimit: 1 });
      const buyer = await createUser(t.db);
      const product = await createTestProduct(t.db);
      const cartId = await cartWith(buyer, { [product.sku]: 1 });
      expect((await apply(buyer, cartId, code)).status).toBe(200);
      await change(code);
      const before = await tablesSnapshot(t.db);

      // Act
      const r = await checkout(buyer, cartId);

      // Assess
      expect([r.status, r.body.error?.code]).toEqual([409, errorCode]);
      expect(await tablesSnapshot(t.db)).toEqual(before);
      const cart = await call("GET", `/carts/${cartId}`, { token: buyer.token });
      expect(cart.body).toMatchObject({ status: "open", promotion: { code } });
    },
  );

  it("gives the use back when the order is cancelled: used goes down and the customer may redeem it again", async () => {
    // Prepare
    const code = await createCode({ usageLimit: 1, perCustomerLimit: 1 });
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db);
    const first = await cartWith(buyer, { [product.sku]: 1 });
    await apply(buyer, first, code);
    const placed = await checkout(buyer, first);
    expect((await promotionOf(code)).used).toBe(1);

    // Act
    const cancelled = await call("POST", `/orders/${placed.body.id}/cancel`, {
      token: buyer.token,
    });
    const usedAfterCancel = (await promotionOf(code)).used;
    const second = await cartWith(buyer, { [product.sku]: 1 });
    const reapplied = await apply(buyer, second, code);
    const again = await checkout(buyer, second, randomUUID(), { ...address, line1: "2 Other St" });

    // Assess
    expect(cancelled.status).toBe(200);
    expect(usedAfterCancel).toBe(0);
    expect(reapplied.status).toBe(200);
    expect(again.status).toBe(201);
    expect(again.body.promotionCode).toBe(code);
    expect((await promotionOf(code)).used).toBe(1);
  });

  it("makes an order free when a fixed amount covers it: paid at once by store credit without touching the wallet, and cancelled without a refund", async () => {
    // Prepare
    const code = await createCode({ kind: "fixed", value: 10_000, currency: "EUR" });
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { priceCents: 2_500 });
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    await apply(buyer, cartId, code);

    // Act
    const placed = await checkout(buyer, cartId, randomUUID(), address, pay("store_credit"));
    const cancelled = await call("POST", `/orders/${placed.body.id}/cancel`, {
      token: buyer.token,
    });

    // Assess
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({
      status: "placed",
      subtotalCents: 2_500,
      discountCents: 2_500,
      totalCents: 0,
      payment: { method: "store_credit", status: "paid", amountCents: 0 },
    });
    expect(cancelled.body.payment).toMatchObject({ status: "cancelled", refundedCents: 0 });
    const { rows } = await t.db.query("SELECT 1 FROM wallet_transactions WHERE customer_id = $1", [
      buyer.id,
    ]);
    expect(rows).toEqual([]);
  });
});

describe("a limited code under concurrency", () => {
  it("lets exactly 10 of 100 customers checking out at once redeem a code with usageLimit 10; 90 hear 409 PROMOTION_EXHAUSTED; cancelling one frees a use for the next", async () => {
    // Prepare: every cart holds the code before anyone checks out.
    const code = await createCode({ usageLimit: 10 });
    const product = await createTestProduct(t.db, { priceCents: 1_000, available: 1_000 });
    const buyers = await Promise.all(Array.from({ length: 100 }, () => createUser(t.db)));
    const carts = await Promise.all(
      buyers.map(async (buyer) => {
        const cartId = await cartWith(buyer, { [product.sku]: 1 });
        expect((await apply(buyer, cartId, code)).status).toBe(200);
        return cartId;
      }),
    );

    // Act
    const answers = await Promise.all(
      buyers.map((buyer, i) => checkoutUntilVerdict(buyer, carts[i] as string)),
    );

    // Assess
    const verdicts = answers.map(
      (a) => `${a.status} ${a.body.error?.code ?? a.body.promotionCode}`,
    );
    expect(verdicts.sort()).toEqual(
      [...Array(10).fill(`201 ${code}`), ...Array(90).fill("409 PROMOTION_EXHAUSTED")].sort(),
    );
    expect(answers.filter((a) => a.status === 201).every((a) => a.body.discountCents === 100)).toBe(
      true,
    );
    expect((await promotionOf(code)).used).toBe(10);

    // Act: one winner cancels; one of the refused tries again.
    const winner = answers.findIndex((a) => a.status === 201);
    const loser = answers.findIndex((a) => a.status === 409);
    await call("POST", `/orders/${answers[winner]?.body.id}/cancel`, {
      token: (buyers[winner] as TestUser).token,
    });
    const usedAfterCancel = (await promotionOf(code)).used;
    const retried = await checkout(buyers[loser] as TestUser, carts[loser] as string);

    // Assess
    expect(usedAfterCancel).toBe(9);
    expect(retried.status).toBe(201);
    expect(retried.body.promotionCode).toBe(code);
    expect((await promotionOf(code)).used).toBe(10);
  });

  it("lets one customer checking out 10 carts at once redeem a code with perCustomerLimit 1 exactly once; 9 hear 409 PROMOTION_ALREADY_USED", async () => {
    // Prepare
    const code = await createCode({ perCustomerLimit: 1 });
    const buyer = await createUser(t.db);
    const products = await Promise.all(
      Array.from({ length: 10 }, () => createTestProduct(t.db, { available: 10 })),
    );
    const carts: string[] = [];
    for (const product of products) {
      // A different product per cart, so that none is held as a duplicate of another.
      const cartId = await cartWith(buyer, { [product.sku]: 1 });
      expect((await apply(buyer, cartId, code)).status).toBe(200);
      carts.push(cartId);
    }

    // Act
    const answers = await Promise.all(carts.map((cartId) => checkoutUntilVerdict(buyer, cartId)));

    // Assess
    const verdicts = answers.map(
      (a) => `${a.status} ${a.body.error?.code ?? a.body.promotionCode}`,
    );
    expect(verdicts.sort()).toEqual(
      [`201 ${code}`, ...Array(9).fill("409 PROMOTION_ALREADY_USED")].sort(),
    );
    expect((await promotionOf(code)).used).toBe(1);
  });
});
