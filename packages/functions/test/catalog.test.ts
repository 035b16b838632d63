import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import { expectLedgerConsistent, useDatabase } from "@flashstock/testing/database";
import {
  createOneOfEachRole,
  createTestProduct,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { beforeAll, describe, expect, it } from "vitest";

const t = useDatabase();

let manager: TestUser;
let admin: TestUser;
let ops: TestUser;
let customer: TestUser;

beforeAll(async () => {
  ({ manager, admin, ops, customer } = await createOneOfEachRole(t.db));
});

const newSku = (prefix = "P") => `${prefix}-${randomUUID()}`;
/** A category of its own, so that a listing test sees only the products it made. */
const newCategory = () => `cat-${randomUUID()}`;

const movementsOf = async (sku: string) =>
  (
    await t.db.query<{ delta: number; reason: string; available_after: number; order_id: null }>(
      "SELECT delta, reason, available_after, order_id FROM stock_movements WHERE sku = $1 ORDER BY id",
      [sku],
    )
  ).rows;

const productCount = async (sku: string) =>
  (await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM products WHERE sku = $1", [sku]))
    .rows[0]?.n;

const expectLedgerHolds = () => expectLedgerConsistent(t.db);

const expectError = (
  response: { status: number; body: { error?: { code?: string } } },
  status: number,
  code: string,
) => {
  expect(response.status).toBe(status);
  expect(response.body.error?.code).toBe(code);
};

/** Every page of a listing, following nextCursor; `between` runs after each page. */
async function walk(query: string, between?: (page: number) => Promise<void>) {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/products?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const response = await call("GET", url);
    expect(response.status).toBe(200);
    pages.push(response.body.items.map((p: { sku: string }) => p.sku));
    cursor = response.body.nextCursor;
    if (between) await between(pages.length);
  } while (cursor !== null && pages.length < 100);
  return pages;
}

describe("POST /products", () => {
  it("creates a product with the documented defaults and returns 201 Product", async () => {
    // Prepare
    const sku = newSku();

    // Act
    const response = await call("POST", "/products", {
      token: manager.token,
      body: { sku, name: "Plain mug", priceCents: 1299, available: 7, minQuantity: 2 },
    });

    // Assess
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      sku,
      name: "Plain mug",
      description: "",
      priceCents: 1299,
      currency: "EUR",
      category: null,
      imageUrls: [],
      attributes: {},
      available: 7,
      maxPerCustomer: null,
      availableFrom: null,
      rating: { average: null, count: 0 },
      // Staff (the creator) see the low-stock line.
      minQuantity: 2,
    });
    const { rows } = await t.db.query(
      'SELECT available, min_quantity AS "minQuantity" FROM stock WHERE sku = $1',
      [sku],
    );
    expect(rows).toEqual([{ available: 7, minQuantity: 2 }]);
    const { minQuantity: _, ...publicAnswer } = response.body;
    expect((await call("GET", `/products/${sku}`)).body).toEqual(publicAnswer);
  });

  it("stores every optional field it is given", async () => {
    // Prepare
    const sku = newSku();
    const body = {
      sku,
      name: "Blue mug",
      description: "A mug, blue.",
      priceCents: 1500,
      currency: "GBP",
      category: "kitchen",
      imageUrls: ["https://img.example.com/blue-mug.jpg"],
      attributes: { colour: "blue", volumeMl: 350, dishwasherSafe: true },
      available: 3,
      minQuantity: 1,
    };

    // Act
    const response = await call("POST", "/products", { token: admin.token, body });

    // Assess
    expect(response.status).toBe(201);
    const product = {
      ...body,
      maxPerCustomer: null,
      availableFrom: null,
      rating: { average: null, count: 0 },
    };
    expect(response.body).toEqual(product);
    // The public answer leaves out the low-stock line.
    const { minQuantity: _, ...publicProduct } = product;
    expect((await call("GET", `/products/${sku}`)).body).toEqual(publicProduct);
  });

  it("writes an 'initial' movement equal to the opening stock", async () => {
    // Prepare
    const sku = newSku();

    // Act
    const response = await call("POST", "/products", {
      token: manager.token,
      body: { sku, name: "Teapot", priceCents: 2500, available: 12, minQuantity: 3 },
    });

    // Assess
    expect(response.status).toBe(201);
    expect(await movementsOf(sku)).toEqual([
      { delta: 12, reason: "initial", available_after: 12, order_id: null },
    ]);
    const { rows } = await t.db.query<{ actor_id: string }>(
      "SELECT actor_id FROM stock_movements WHERE sku = $1",
      [sku],
    );
    expect(rows[0]?.actor_id).toBe(manager.id);
    await expectLedgerHolds();
  });

  it("writes no movement when the opening stock is 0", async () => {
    // Prepare
    const sku = newSku();

    // Act
    const response = await call("POST", "/products", {
      token: manager.token,
      body: { sku, name: "Coming soon", priceCents: 100, available: 0, minQuantity: 0 },
    });

    // Assess
    expect(response.status).toBe(201);
    expect(response.body.available).toBe(0);
    expect(await movementsOf(sku)).toEqual([]);
    await expectLedgerHolds();
  });

  it("answers an existing SKU with 409 SKU_EXISTS and leaves the first product untouched", async () => {
    // Prepare
    const sku = newSku();
    await createTestProduct(t.db, { sku, name: "Original", available: 5 });

    // Act
    const response = await call("POST", "/products", {
      token: manager.token,
      body: { sku, name: "Impostor", priceCents: 1, available: 99, minQuantity: 0 },
    });

    // Assess
    expectError(response, 409, "SKU_EXISTS");
    const product = await call("GET", `/products/${sku}`);
    expect(product.body).toMatchObject({ name: "Original", available: 5 });
    expect(await movementsOf(sku)).toHaveLength(1);
    await expectLedgerHolds();
  });

  it("lets only one of two simultaneous creates of one SKU succeed", async () => {
    // Prepare
    const sku = newSku();
    const body = (name: string, available: number) => ({
      sku,
      name,
      priceCents: 100,
      available,
      minQuantity: 0,
    });

    // Act
    const results = await Promise.all([
      call("POST", "/products", { token: manager.token, body: body("First", 3) }),
      call("POST", "/products", { token: admin.token, body: body("Second", 8) }),
    ]);

    // Assess: one product, one opening movement, matching the winner.
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.status === 409)?.body.error.code).toBe("SKU_EXISTS");
    const winner = results.find((r) => r.status === 201)?.body;
    expect(await productCount(sku)).toBe(1);
    expect(await movementsOf(sku)).toEqual([
      {
        delta: winner.available,
        reason: "initial",
        available_after: winner.available,
        order_id: null,
      },
    ]);
    await expectLedgerHolds();
  });

  it.each([
    ["customer", () => customer],
    ["ops", () => ops],
  ])("is forbidden to %s (403) and creates nothing", async (_, who) => {
    // Prepare
    const sku = newSku();

    // Act
    const response = await call("POST", "/products", {
      token: who().token,
      body: { sku, name: "Nope", priceCents: 1, available: 1, minQuantity: 0 },
    });

    // Assess
    expectError(response, 403, "FORBIDDEN");
    expect(await productCount(sku)).toBe(0);
  });

  it("needs a token (401 without one)", async () => {
    // Act
    const sku = newSku();
    const response = await call("POST", "/products", {
      body: { sku, name: "Nope", priceCents: 1, available: 1, minQuantity: 0 },
    });

    // Assess
    expectError(response, 401, "UNAUTHENTICATED");
    expect(await productCount(sku)).toBe(0);
  });

  it.each([
    ["a SKU with spaces and quotes", { sku: "bad sku'; DROP TABLE products;--" }],
    ["a missing name", { name: undefined }],
    ["a negative price", { priceCents: -1 }],
    ["a fractional price", { priceCents: 9.99 }],
    ["a price as a string", { priceCents: "1000" }],
    ["a lower-case currency", { currency: "eur" }],
    ["negative stock", { available: -1 }],
    ["fractional stock", { available: 1.5 }],
    ["huge stock", { available: 1e12 }],
    ["a missing minQuantity", { minQuantity: undefined }],
    ["a non-http image URL", { imageUrls: ["javascript:alert(1)"] }],
    ["a nested attribute", { attributes: { size: { w: 1 } } }],
    ["an unknown field", { colour: "red" }],
  ])("rejects %s with 400 VALIDATION_FAILED and creates nothing", async (_, overrides) => {
    // Prepare
    const sku = newSku();
    const body = {
      sku,
      name: "Valid",
      priceCents: 100,
      available: 1,
      minQuantity: 0,
      ...overrides,
    };

    // Act
    const response = await call("POST", "/products", { token: manager.token, body });

    // Assess
    expectError(response, 400, "VALIDATION_FAILED");
    expect(await productCount(sku)).toBe(0);
  });
});

describe("GET /products/{sku}", () => {
  it("returns the product with its current stock", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { priceCents: 4200, available: 9 });

    // Act
    const response = await call("GET", `/products/${product.sku}`);

    // Assess: public, no token needed.
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      sku: product.sku,
      name: product.name,
      description: "",
      priceCents: 4200,
      currency: "EUR",
      category: null,
      imageUrls: [],
      attributes: {},
      available: 9,
      maxPerCustomer: null,
      availableFrom: null,
      rating: { average: null, count: 0 },
    });
  });

  it("answers an unknown SKU with 404 NOT_FOUND", async () => {
    // Act
    const response = await call("GET", `/products/${newSku("MISSING")}`);

    // Assess
    expectError(response, 404, "NOT_FOUND");
  });
});

describe("PATCH /products/{sku}", () => {
  it("changes the given fields, keeps the others, and never touches stock", async () => {
    // Prepare
    const product = await createTestProduct(t.db, {
      name: "Old name",
      description: "Old description",
      category: "old",
      available: 6,
    });

    // Act
    const response = await call("PATCH", `/products/${product.sku}`, {
      token: manager.token,
      body: {
        name: "New name",
        priceCents: 1999,
        category: null,
        imageUrls: ["https://img.example.com/new.png"],
        attributes: { colour: "green" },
      },
    });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      sku: product.sku,
      name: "New name",
      description: "Old description",
      priceCents: 1999,
      currency: "EUR",
      category: null,
      imageUrls: ["https://img.example.com/new.png"],
      attributes: { colour: "green" },
      available: 6,
      maxPerCustomer: null,
      availableFrom: null,
      rating: { average: null, count: 0 },
      minQuantity: 0,
    });
    const { minQuantity: _, ...publicAnswer } = response.body;
    expect((await call("GET", `/products/${product.sku}`)).body).toEqual(publicAnswer);
    expect(await movementsOf(product.sku)).toHaveLength(1);
  });

  it("is allowed to admins too", async () => {
    // Prepare
    const product = await createTestProduct(t.db);

    // Act
    const response = await call("PATCH", `/products/${product.sku}`, {
      token: admin.token,
      body: { description: "Edited by an admin" },
    });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.description).toBe("Edited by an admin");
  });

  it("answers an unknown SKU with 404 NOT_FOUND and creates nothing", async () => {
    // Prepare
    const sku = newSku("MISSING");

    // Act
    const response = await call("PATCH", `/products/${sku}`, {
      token: manager.token,
      body: { name: "Ghost" },
    });

    // Assess
    expectError(response, 404, "NOT_FOUND");
    expect(await productCount(sku)).toBe(0);
  });

  it("rejects `available` with 400: stock changes only through adjustments", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 4 });

    // Act
    const response = await call("PATCH", `/products/${product.sku}`, {
      token: manager.token,
      body: { name: "Sneaky", available: 1000 },
    });

    // Assess
    expectError(response, 400, "VALIDATION_FAILED");
    const after = await call("GET", `/products/${product.sku}`);
    expect(after.body).toMatchObject({ name: product.name, available: 4 });
    await expectLedgerHolds();
  });

  it.each([
    ["an empty body", {}],
    ["a changed SKU", { sku: "OTHER" }],
    ["a blank name", { name: "  " }],
    ["a negative price", { priceCents: -5 }],
    ["minQuantity (an inventory field)", { minQuantity: 3 }],
  ])("rejects %s with 400 VALIDATION_FAILED", async (_, body) => {
    // Prepare
    const product = await createTestProduct(t.db, { name: "Unchanged" });

    // Act
    const response = await call("PATCH", `/products/${product.sku}`, {
      token: manager.token,
      body,
    });

    // Assess
    expectError(response, 400, "VALIDATION_FAILED");
    expect((await call("GET", `/products/${product.sku}`)).body.name).toBe("Unchanged");
  });

  it.each([
    ["customer", (): TestUser | undefined => customer, 403, "FORBIDDEN"],
    ["ops", (): TestUser | undefined => ops, 403, "FORBIDDEN"],
    ["nobody", (): TestUser | undefined => undefined, 401, "UNAUTHENTICATED"],
  ] as const)("is refused to %s and changes nothing", async (_, who, status, code) => {
    // Prepare
    const product = await createTestProduct(t.db, { name: "Unchanged" });
    const token = who()?.token;

    // Act
    const response = await call("PATCH", `/products/${product.sku}`, {
      ...(token ? { token } : {}),
      body: { name: "Changed" },
    });

    // Assess
    expectError(response, status, code);
    expect((await call("GET", `/products/${product.sku}`)).body.name).toBe("Unchanged");
  });
});

describe("GET /products", () => {
  it("returns 20 items by default, in SKU order, with a cursor to the rest", async () => {
    // Prepare
    const category = newCategory();
    const skus: string[] = [];
    for (let i = 0; i < 25; i++) {
      skus.push((await createTestProduct(t.db, { sku: newSku(`D${i}`), category })).sku);
    }
    skus.sort();

    // Act
    const first = await call("GET", `/products?category=${category}`);

    // Assess
    expect(first.status).toBe(200);
    expect(first.body.items.map((p: { sku: string }) => p.sku)).toEqual(skus.slice(0, 20));
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call(
      "GET",
      `/products?category=${category}&cursor=${encodeURIComponent(first.body.nextCursor)}`,
    );
    expect(second.body.items.map((p: { sku: string }) => p.sku)).toEqual(skus.slice(20));
    expect(second.body.nextCursor).toBeNull();
  });

  it("returns full Product objects", async () => {
    // Prepare
    const category = newCategory();
    const product = await createTestProduct(t.db, { category, available: 3, priceCents: 250 });

    // Act
    const response = await call("GET", `/products?category=${category}`);

    // Assess
    expect(response.body).toEqual({
      items: [
        {
          sku: product.sku,
          name: product.name,
          description: "",
          priceCents: 250,
          currency: "EUR",
          category,
          imageUrls: [],
          attributes: {},
          available: 3,
          maxPerCustomer: null,
          availableFrom: null,
          rating: { average: null, count: 0 },
        },
      ],
      nextCursor: null,
    });
  });

  it("accepts a limit of up to 100 and rejects 101 with 400", async () => {
    // Prepare: more than 100 products in the database.
    const category = newCategory();
    await Promise.all(
      Array.from({ length: 101 }, (_, i) =>
        createTestProduct(t.db, { sku: newSku(`L${i}`), category }),
      ),
    );

    // Act
    const hundred = await call("GET", `/products?category=${category}&limit=100`);
    const tooMany = await call("GET", `/products?category=${category}&limit=101`);

    // Assess
    expect(hundred.status).toBe(200);
    expect(hundred.body.items).toHaveLength(100);
    expect(hundred.body.nextCursor).toEqual(expect.any(String));
    expectError(tooMany, 400, "VALIDATION_FAILED");
  });

  it.each(["0", "-1", "2.5", "ten", ""])(
    "rejects limit=%s with 400 VALIDATION_FAILED",
    async (limit) => {
      // Act
      const response = await call("GET", `/products?limit=${limit}`);

      // Assess
      expectError(response, 400, "VALIDATION_FAILED");
    },
  );

  it("filters by category", async () => {
    // Prepare
    const category = newCategory();
    const inside = await Promise.all([
      createTestProduct(t.db, { category }),
      createTestProduct(t.db, { category }),
    ]);
    await createTestProduct(t.db, { category: newCategory() });
    await createTestProduct(t.db, { category: null });

    // Act
    const response = await call("GET", `/products?category=${category}`);

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.items.map((p: { sku: string }) => p.sku).sort()).toEqual(
      inside.map((p) => p.sku).sort(),
    );
    for (const item of response.body.items) expect(item.category).toBe(category);
  });

  it("searches name, description and SKU case-insensitively with q", async () => {
    // Prepare
    const category = newCategory();
    const word = `zebra${randomUUID().slice(0, 8)}`;
    const byName = await createTestProduct(t.db, { category, name: `Striped ${word} mug` });
    const byDescription = await createTestProduct(t.db, {
      category,
      description: `Looks like a ${word.toUpperCase()}`,
    });
    const bySku = await createTestProduct(t.db, { category, sku: newSku(word) });
    await createTestProduct(t.db, { category, name: "Plain mug" });

    // Act
    const response = await call("GET", `/products?category=${category}&q=${word.toUpperCase()}`);

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.items.map((p: { sku: string }) => p.sku).sort()).toEqual(
      [byName.sku, byDescription.sku, bySku.sku].sort(),
    );
  });

  it("matches % and _ in q literally, not as wildcards", async () => {
    // Prepare
    const category = newCategory();
    const percent = await createTestProduct(t.db, { category, name: "50% off" });
    await createTestProduct(t.db, { category, name: "500 off" });
    const underscore = await createTestProduct(t.db, { category, name: "snake_case" });
    await createTestProduct(t.db, { category, name: "snakeXcase" });
    const backslash = await createTestProduct(t.db, { category, name: "back\\slash" });
    await createTestProduct(t.db, { category, name: "backslash" });

    // Act
    const search = (q: string) =>
      call("GET", `/products?category=${category}&q=${encodeURIComponent(q)}`);
    const [byPercent, byUnderscore, byBackslash, onlyPercent] = await Promise.all([
      search("50%"),
      search("e_c"),
      search("k\\s"),
      search("%"),
    ]);

    // Assess
    const skus = (r: { body: { items: { sku: string }[] } }) => r.body.items.map((p) => p.sku);
    expect(byPercent.status).toBe(200);
    expect(skus(byPercent)).toEqual([percent.sku]);
    expect(skus(byUnderscore)).toEqual([underscore.sku]);
    expect(skus(byBackslash)).toEqual([backslash.sku]);
    expect(skus(onlyPercent)).toEqual([percent.sku]);
  });

  it("treats SQL-looking search text as text", async () => {
    // Act
    const response = await call(
      "GET",
      `/products?q=${encodeURIComponent("' OR 1=1; DROP TABLE products;--")}`,
    );

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ items: [], nextCursor: null });
    const { rows } = await t.db.query("SELECT count(*)::int AS n FROM products");
    expect((rows[0] as { n: number }).n).toBeGreaterThan(0);
  });

  it("walks every item exactly once with keyset pagination", async () => {
    // Prepare
    const category = newCategory();
    const skus = (
      await Promise.all(Array.from({ length: 17 }, () => createTestProduct(t.db, { category })))
    )
      .map((p) => p.sku)
      .sort();

    // Act
    const pages = await walk(`category=${category}&limit=5`);

    // Assess
    expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 2]);
    expect(pages.flat()).toEqual(skus);
  });

  it("never skips or repeats an item that existed at the start while products are inserted", async () => {
    // Prepare: SKUs spread over the alphabet, so inserts land before, between and after pages.
    const category = newCategory();
    const letters = "BDFHJLNPRTVX";
    const original = (
      await Promise.all(
        [...letters].map((l) => createTestProduct(t.db, { category, sku: newSku(l) })),
      )
    )
      .map((p) => p.sku)
      .sort();
    const inserted: string[] = [];

    // Act: after each of the first pages, insert one product in front of everything, one in
    // each gap and one after the end.
    const pages = await walk(`category=${category}&limit=3`, async (page) => {
      if (page > 3) return;
      for (const l of "ACEGIKMOQSUWY") {
        inserted.push((await createTestProduct(t.db, { category, sku: newSku(l) })).sku);
      }
    });

    // Assess
    const seen = pages.flat();
    expect(new Set(seen).size).toBe(seen.length);
    for (const sku of original) expect(seen.filter((s) => s === sku)).toHaveLength(1);
    for (const sku of seen) expect([...original, ...inserted]).toContain(sku);
    expect(seen).toEqual([...seen].sort());
    // Inserts behind the cursor are not served on this walk; those ahead of it are.
    expect(seen.some((s) => s.startsWith("A-"))).toBe(false);
    expect(seen.filter((s) => s.startsWith("Y-"))).toHaveLength(3);
  });

  it.each([
    ["garbage", "!!!not-a-cursor!!!"],
    ["base64 of non-JSON", Buffer.from("hello").toString("base64url")],
    ["a cursor of the wrong shape", Buffer.from(JSON.stringify({ sku: 1 })).toString("base64url")],
    ["a cursor with a number key", Buffer.from(JSON.stringify([42])).toString("base64url")],
    // Postgres cannot take NUL in text: this must be refused up front, not fail in the query.
    [
      "a cursor with a NUL in its key",
      Buffer.from(JSON.stringify(["A\u0000"])).toString("base64url"),
    ],
  ])("rejects %s as cursor with 400 INVALID_CURSOR", async (_, cursor) => {
    // Act
    const response = await call("GET", `/products?cursor=${encodeURIComponent(cursor)}`);

    // Assess
    expectError(response, 400, "INVALID_CURSOR");
  });
});
