/**
 * Reviews: only a customer who received a product reviews it, once; everyone reads them, newest
 * first; products carry their average and count.
 */

import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import { countRows, useDatabase } from "@flashstock/testing/database";
import {
  createTestProduct,
  createUser,
  orderOfOne,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { describe, expect, it } from "vitest";

const t = useDatabase();

/** An order of the SKU by the buyer, taken as far as `until`. */
const orderOf = async (buyer: TestUser, sku: string, until: "placed" | "shipped" | "delivered") =>
  (await orderOfOne(buyer, sku, until === "placed" ? {} : { until, db: t.db })).id;

/** A customer named `name` who has received the product. */
async function receivedBy(sku: string, name = "Ada Lovelace"): Promise<TestUser> {
  const buyer = await createUser(t.db, "customer", name);
  await orderOf(buyer, sku, "delivered");
  return buyer;
}

const review = (user: TestUser, sku: string, body: unknown) =>
  call("POST", `/products/${sku}/reviews`, { token: user.token, body });

describe("POST /products/{sku}/reviews", () => {
  it("takes a review from a customer who received the product (201), shows them as first name and initial, and rates the product", async () => {
    // Prepare
    const p = await createTestProduct(t.db);
    const buyer = await receivedBy(p.sku, "Ada King Lovelace");

    // Act
    const r = await review(buyer, p.sku, { rating: 4, title: "Good", body: "Warm.\nFits well." });

    // Assess
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.any(String),
      sku: p.sku,
      rating: 4,
      title: "Good",
      body: "Warm.\nFits well.",
      author: "Ada L.",
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    const product = await call("GET", `/products/${p.sku}`);
    expect(product.body.rating).toEqual({ average: 4, count: 1 });
  });

  it.each([
    ["never ordered it", async (_: TestUser, __: string) => {}],
    ["ordered it, not yet shipped", (u: TestUser, sku: string) => orderOf(u, sku, "placed")],
    ["has it on its way", (u: TestUser, sku: string) => orderOf(u, sku, "shipped")],
  ])("refuses a customer who %s: 403 NOT_A_VERIFIED_BUYER, nothing written", async (_, history) => {
    // Prepare
    const p = await createTestProduct(t.db);
    const customer = await createUser(t.db);
    await history(customer, p.sku);

    // Act
    const r = await review(customer, p.sku, { rating: 5 });

    // Assess
    expect([r.status, r.body.error.code]).toEqual([403, "NOT_A_VERIFIED_BUYER"]);
    expect(await countRows(t.db, "reviews WHERE sku = $1", [p.sku])).toBe(0);
  });

  it("keeps one review per customer and product, also when two arrive at once: 201 then 409 REVIEW_EXISTS", async () => {
    // Prepare
    const p = await createTestProduct(t.db);
    const buyer = await receivedBy(p.sku);

    // Act
    const answers = await Promise.all([
      review(buyer, p.sku, { rating: 5 }),
      review(buyer, p.sku, { rating: 1 }),
    ]);

    // Assess
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    expect(answers.find((a) => a.status === 409)?.body.error.code).toBe("REVIEW_EXISTS");
    expect(await countRows(t.db, "reviews WHERE sku = $1", [p.sku])).toBe(1);
  });

  it.each([
    ["a rating of 0", { rating: 0 }],
    ["a rating of 6", { rating: 6 }],
    ["a rating of 4.5", { rating: 4.5 }],
    ["no rating", { title: "Nice" }],
    ["a title with a line break", { rating: 3, title: "Nice\r\nBcc: x@example.com" }],
    ["a body with a bidirectional override", { rating: 3, body: "great \u202Egnp.exe" }],
    ["a body over 4,000 characters", { rating: 3, body: "a".repeat(4001) }],
    ["an unknown field", { rating: 3, verified: true }],
  ])("refuses %s with 400 VALIDATION_FAILED", async (_, body) => {
    // Prepare
    const p = await createTestProduct(t.db);
    const buyer = await receivedBy(p.sku);

    // Act
    const r = await review(buyer, p.sku, body);

    // Assess
    expect([r.status, r.body.error.code]).toEqual([400, "VALIDATION_FAILED"]);
    expect(await countRows(t.db, "reviews WHERE sku = $1", [p.sku])).toBe(0);
  });

  it("answers 404 NOT_FOUND for an unknown product", async () => {
    // Prepare
    const customer = await createUser(t.db);

    // Act
    const r = await review(customer, "NO-SUCH-SKU", { rating: 5 });

    // Assess
    expect([r.status, r.body.error.code]).toEqual([404, "NOT_FOUND"]);
  });
});

describe("GET /products/{sku}/reviews", () => {
  it("lists a product's reviews newest first, a page at a time, to anyone; the product shows their average", async () => {
    // Prepare: three reviews, a millisecond apart at least
    const p = await createTestProduct(t.db, { available: 10 });
    const ratings = [5, 2, 4];
    for (const rating of ratings) {
      const buyer = await receivedBy(p.sku);
      expect((await review(buyer, p.sku, { rating })).status).toBe(201);
    }

    // Act
    const first = await call("GET", `/products/${p.sku}/reviews?limit=2`);
    const second = await call(
      "GET",
      `/products/${p.sku}/reviews?limit=2&cursor=${first.body.nextCursor}`,
    );

    // Assess
    expect(first.status).toBe(200);
    expect(first.body.items.map((r: { rating: number }) => r.rating)).toEqual([4, 2]);
    expect(second.body.items.map((r: { rating: number }) => r.rating)).toEqual([5]);
    expect(second.body.nextCursor).toBeNull();
    const product = await call("GET", `/products/${p.sku}`);
    expect(product.body.rating).toEqual({ average: 3.67, count: 3 });
  });

  it("shows a product without reviews as {average: null, count: 0}, in the list and alone", async () => {
    // Prepare
    const p = await createTestProduct(t.db, { category: `unreviewed-${randomUUID()}` });

    // Act
    const one = await call("GET", `/products/${p.sku}`);
    const list = await call("GET", `/products?category=${p.category}`);
    const reviews = await call("GET", `/products/${p.sku}/reviews`);

    // Assess
    expect(one.body.rating).toEqual({ average: null, count: 0 });
    expect(list.body.items[0].rating).toEqual({ average: null, count: 0 });
    expect(reviews.body).toEqual({ items: [], nextCursor: null });
  });

  it("answers 404 NOT_FOUND for an unknown product", async () => {
    // Act
    const r = await call("GET", "/products/NO-SUCH-SKU/reviews");

    // Assess
    expect([r.status, r.body.error.code]).toEqual([404, "NOT_FOUND"]);
  });
});
