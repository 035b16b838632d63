import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import { checkLedger, countRows, useDatabase } from "@flashstock/testing/database";
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

const adjust = (sku: string, body: unknown, token = manager.token) =>
  call("POST", `/inventory/${sku}/adjustments`, { token, body });

const stockOf = async (sku: string) =>
  (
    await t.db.query<{ available: number; minQuantity: number }>(
      'SELECT available, min_quantity AS "minQuantity" FROM stock WHERE sku = $1',
      [sku],
    )
  ).rows[0];

const movementCount = (sku: string) => countRows(t.db, "stock_movements WHERE sku = $1", [sku]);

/** The outbox rows written for one SKU, oldest first. */
const eventsFor = async (sku: string) =>
  (
    await t.db.query<{ type: string; data: Record<string, unknown> }>(
      "SELECT type, data FROM outbox WHERE data->>'sku' = $1 ORDER BY seq",
      [sku],
    )
  ).rows;

/** The ledger identity for one SKU: its movements sum to its stock. */
const expectLedgerHolds = async (sku: string) => {
  const row = (await checkLedger(t.db)).find((r) => r.sku === sku);
  expect(row).toBeDefined();
  expect(row?.ledgerSum).toBe(row?.available);
};

const expectError = (
  response: { status: number; body: { error?: { code?: string } } },
  status: number,
  code: string,
) => {
  expect(response.status).toBe(status);
  expect(response.body.error?.code).toBe(code);
};

const isoDate = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

describe("GET /inventory", () => {
  it("lists every SKU with its name, levels and a low flag (available < minQuantity)", async () => {
    // Prepare
    const below = await createTestProduct(t.db, { name: "Below", available: 3, minQuantity: 5 });
    const atMin = await createTestProduct(t.db, { name: "At min", available: 5, minQuantity: 5 });
    const plenty = await createTestProduct(t.db, { name: "Plenty", available: 9, minQuantity: 0 });
    const empty = await createTestProduct(t.db, { name: "Empty", available: 0, minQuantity: 0 });

    // Act
    const response = await call("GET", "/inventory", { token: manager.token });

    // Assess
    expect(response.status).toBe(200);
    const bySku = new Map(response.body.items.map((i: { sku: string }) => [i.sku, i]));
    expect(bySku.get(below.sku)).toEqual({
      sku: below.sku,
      name: "Below",
      available: 3,
      minQuantity: 5,
      low: true,
    });
    expect(bySku.get(atMin.sku)).toEqual({
      sku: atMin.sku,
      name: "At min",
      available: 5,
      minQuantity: 5,
      low: false,
    });
    expect(bySku.get(plenty.sku)).toMatchObject({ low: false });
    expect(bySku.get(empty.sku)).toMatchObject({ available: 0, minQuantity: 0, low: false });
  });

  it("lists only low SKUs with ?low=true", async () => {
    // Prepare
    const below = await createTestProduct(t.db, { available: 1, minQuantity: 2 });
    const atMin = await createTestProduct(t.db, { available: 2, minQuantity: 2 });

    // Act
    const low = await call("GET", "/inventory?low=true", { token: admin.token });
    const all = await call("GET", "/inventory?low=false", { token: admin.token });

    // Assess
    expect(low.status).toBe(200);
    const lowSkus = low.body.items.map((i: { sku: string }) => i.sku);
    expect(lowSkus).toContain(below.sku);
    expect(lowSkus).not.toContain(atMin.sku);
    for (const item of low.body.items) {
      expect(item.low).toBe(true);
      expect(item.available).toBeLessThan(item.minQuantity);
    }
    const allSkus = all.body.items.map((i: { sku: string }) => i.sku);
    expect(allSkus).toEqual(expect.arrayContaining([below.sku, atMin.sku]));
  });

  it("rejects a low flag that is not true or false with 400", async () => {
    // Act
    const response = await call("GET", "/inventory?low=yes", { token: manager.token });

    // Assess
    expectError(response, 400, "VALIDATION_FAILED");
  });

  it.each([
    ["customer", (): TestUser | undefined => customer, 403, "FORBIDDEN"],
    ["ops", (): TestUser | undefined => ops, 403, "FORBIDDEN"],
    ["nobody", (): TestUser | undefined => undefined, 401, "UNAUTHENTICATED"],
  ] as const)("is refused to %s", async (_, who, status, code) => {
    // Act
    const token = who()?.token;
    const response = await call("GET", "/inventory", token ? { token } : {});

    // Assess
    expectError(response, status, code);
  });
});

describe("POST /inventory/{sku}/adjustments", () => {
  it("adds stock on a restock and writes a restock movement", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 4, minQuantity: 1 });

    // Act
    const response = await adjust(product.sku, { delta: 6, reason: "restock", note: "PO-17" });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ sku: product.sku, available: 10, minQuantity: 1 });
    expect(await stockOf(product.sku)).toEqual({ available: 10, minQuantity: 1 });
    const { rows } = await t.db.query(
      `SELECT delta, reason, order_id AS "orderId", available_after AS "availableAfter", note,
              actor_id AS "actorId"
         FROM stock_movements WHERE sku = $1 ORDER BY id`,
      [product.sku],
    );
    expect(rows.at(-1)).toEqual({
      delta: 6,
      reason: "restock",
      orderId: null,
      availableAfter: 10,
      note: "PO-17",
      actorId: manager.id,
    });
    await expectLedgerHolds(product.sku);
  });

  it("removes stock on damage", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 10 });

    // Act
    const response = await adjust(product.sku, { delta: -3, reason: "damage" });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.available).toBe(7);
    expect(await stockOf(product.sku)).toMatchObject({ available: 7 });
    await expectLedgerHolds(product.sku);
  });

  it("accepts a correction of either sign", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 10 });

    // Act
    const up = await adjust(product.sku, { delta: 5, reason: "correction" });
    const down = await adjust(product.sku, { delta: -8, reason: "correction" }, admin.token);

    // Assess
    expect(up.status).toBe(200);
    expect(up.body.available).toBe(15);
    expect(down.status).toBe(200);
    expect(down.body.available).toBe(7);
    expect(await stockOf(product.sku)).toMatchObject({ available: 7 });
    expect(await movementCount(product.sku)).toBe(3);
    await expectLedgerHolds(product.sku);
  });

  it("lets stock go down to exactly 0", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 4 });

    // Act
    const response = await adjust(product.sku, { delta: -4, reason: "loss" });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body.available).toBe(0);
    await expectLedgerHolds(product.sku);
  });

  it("answers a delta that would take stock below 0 with 409 INSUFFICIENT_STOCK and changes nothing", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 3, minQuantity: 5 });
    const eventsBefore = await eventsFor(product.sku);

    // Act
    const response = await adjust(product.sku, { delta: -4, reason: "correction" });

    // Assess
    expectError(response, 409, "INSUFFICIENT_STOCK");
    expect(response.body.error.details).toEqual({
      sku: product.sku,
      requested: 4,
      available: 3,
    });
    expect(await stockOf(product.sku)).toEqual({ available: 3, minQuantity: 5 });
    expect(await movementCount(product.sku)).toBe(1);
    expect(await eventsFor(product.sku)).toEqual(eventsBefore);
    await expectLedgerHolds(product.sku);
  });

  it("never takes stock below 0 when many removals race", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 5 });

    // Act
    const results = await Promise.all(
      Array.from({ length: 12 }, () => adjust(product.sku, { delta: -1, reason: "damage" })),
    );

    // Assess
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    for (const r of results.filter((r) => r.status === 409)) {
      expect(r.body.error.code).toBe("INSUFFICIENT_STOCK");
    }
    expect(await stockOf(product.sku)).toMatchObject({ available: 0 });
    expect(await movementCount(product.sku)).toBe(6);
    await expectLedgerHolds(product.sku);
  });

  it("answers stock beyond the maximum with a 409, not a 500, and changes nothing", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 10 });

    // Act
    const response = await adjust(product.sku, { delta: 1_000_000_000, reason: "restock" });

    // Assess
    expectError(response, 409, "STOCK_LIMIT_EXCEEDED");
    expect(await stockOf(product.sku)).toMatchObject({ available: 10 });
    expect(await movementCount(product.sku)).toBe(1);
    await expectLedgerHolds(product.sku);
  });

  it.each([
    ["a restock with a negative delta", { delta: -2, reason: "restock" }],
    ["a return with a negative delta", { delta: -2, reason: "return" }],
    ["damage with a positive delta", { delta: 2, reason: "damage" }],
    ["loss with a positive delta", { delta: 2, reason: "loss" }],
    ["a delta of 0", { delta: 0, reason: "correction" }],
    ["a fractional delta", { delta: 1.5, reason: "correction" }],
    ["a delta as a string", { delta: "5", reason: "restock" }],
    ["a huge delta", { delta: 1e12, reason: "restock" }],
    ["a missing delta", { reason: "restock" }],
    ["the system reason 'sale'", { delta: -1, reason: "sale" }],
    ["the system reason 'initial'", { delta: 1, reason: "initial" }],
    ["an unknown reason", { delta: 1, reason: "found it" }],
    ["an oversized note", { delta: 1, reason: "restock", note: "x".repeat(1001) }],
    ["an unknown field", { delta: 1, reason: "restock", orderId: randomUUID() }],
  ])("rejects %s with 400 VALIDATION_FAILED and changes nothing", async (_, body) => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 5 });

    // Act
    const response = await adjust(product.sku, body);

    // Assess
    expectError(response, 400, "VALIDATION_FAILED");
    expect(await stockOf(product.sku)).toMatchObject({ available: 5 });
    expect(await movementCount(product.sku)).toBe(1);
  });

  it.each([
    ["customer", (): TestUser | undefined => customer, 403, "FORBIDDEN"],
    ["ops", (): TestUser | undefined => ops, 403, "FORBIDDEN"],
    ["nobody", (): TestUser | undefined => undefined, 401, "UNAUTHENTICATED"],
  ] as const)("is refused to %s and changes nothing", async (_, who, status, code) => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 5 });
    const token = who()?.token;

    // Act
    const response = await call("POST", `/inventory/${product.sku}/adjustments`, {
      ...(token ? { token } : {}),
      body: { delta: 100, reason: "restock" },
    });

    // Assess
    expectError(response, status, code);
    expect(await stockOf(product.sku)).toMatchObject({ available: 5 });
  });
});

describe("stock threshold events in the outbox", () => {
  it("writes inventory.low when an adjustment crosses below minQuantity", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 10, minQuantity: 5 });

    // Act
    const above = await adjust(product.sku, { delta: -5, reason: "damage" }); // 5: not below
    const eventsAtMin = await eventsFor(product.sku);
    const below = await adjust(product.sku, { delta: -1, reason: "damage" }); // 4: crosses
    const further = await adjust(product.sku, { delta: -1, reason: "damage" }); // 3: already low

    // Assess
    expect([above.status, below.status, further.status]).toEqual([200, 200, 200]);
    expect(eventsAtMin).toEqual([]);
    expect(await eventsFor(product.sku)).toEqual([
      {
        type: "inventory.low",
        data: { sku: product.sku, available: 4, minQuantity: 5, orderId: null },
      },
    ]);
    await expectLedgerHolds(product.sku);
  });

  it("writes inventory.out when stock reaches 0, and inventory.restocked when it is back at min", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 3, minQuantity: 5 });

    // Act
    const out = await adjust(product.sku, { delta: -3, reason: "correction" });
    const partial = await adjust(product.sku, { delta: 2, reason: "restock" }); // 2: still low
    const restocked = await adjust(product.sku, { delta: 3, reason: "restock" }); // 5: at min

    // Assess
    expect([out.status, partial.status, restocked.status]).toEqual([200, 200, 200]);
    expect(await eventsFor(product.sku)).toEqual([
      {
        type: "inventory.out",
        data: { sku: product.sku, available: 0, minQuantity: 5, orderId: null },
      },
      {
        type: "inventory.restocked",
        data: { sku: product.sku, available: 5, minQuantity: 5, orderId: null },
      },
    ]);
    await expectLedgerHolds(product.sku);
  });

  it("writes both inventory.low and inventory.out when one adjustment empties a healthy SKU", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 8, minQuantity: 2 });

    // Act
    const response = await adjust(product.sku, { delta: -8, reason: "loss" });

    // Assess
    expect(response.status).toBe(200);
    expect((await eventsFor(product.sku)).map((e) => e.type)).toEqual([
      "inventory.low",
      "inventory.out",
    ]);
    await expectLedgerHolds(product.sku);
  });

  it("writes no event for a change that crosses no threshold", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 10, minQuantity: 2 });

    // Act
    const down = await adjust(product.sku, { delta: -7, reason: "damage" }); // 3
    const up = await adjust(product.sku, { delta: 20, reason: "restock" }); // 23

    // Assess
    expect([down.status, up.status]).toEqual([200, 200]);
    expect(await eventsFor(product.sku)).toEqual([]);
  });
});

describe("PUT /inventory/{sku}", () => {
  it("sets minQuantity, returns 200 with the stock level, and moves no stock", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 4, minQuantity: 0 });

    // Act
    const response = await call("PUT", `/inventory/${product.sku}`, {
      token: manager.token,
      body: { minQuantity: 6 },
    });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ sku: product.sku, available: 4, minQuantity: 6 });
    expect(await stockOf(product.sku)).toEqual({ available: 4, minQuantity: 6 });
    expect(await movementCount(product.sku)).toBe(1);
    const low = await call("GET", "/inventory?low=true", { token: manager.token });
    expect(low.body.items.map((i: { sku: string }) => i.sku)).toContain(product.sku);
    await expectLedgerHolds(product.sku);
  });

  it("uses the new minimum for later threshold events", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 10, minQuantity: 0 });
    const put = await call("PUT", `/inventory/${product.sku}`, {
      token: admin.token,
      body: { minQuantity: 8 },
    });
    expect(put.status).toBe(200);

    // Act
    const response = await adjust(product.sku, { delta: -3, reason: "damage" });

    // Assess
    expect(response.status).toBe(200);
    expect(await eventsFor(product.sku)).toEqual([
      {
        type: "inventory.low",
        data: { sku: product.sku, available: 7, minQuantity: 8, orderId: null },
      },
    ]);
  });

  it.each([
    ["a negative minimum", { minQuantity: -1 }],
    ["a fractional minimum", { minQuantity: 2.5 }],
    ["a minimum as a string", { minQuantity: "3" }],
    ["a missing minimum", {}],
    ["an attempt to set available", { minQuantity: 1, available: 100 }],
  ])("rejects %s with 400 VALIDATION_FAILED", async (_, body) => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 4, minQuantity: 2 });

    // Act
    const response = await call("PUT", `/inventory/${product.sku}`, {
      token: manager.token,
      body,
    });

    // Assess
    expectError(response, 400, "VALIDATION_FAILED");
    expect(await stockOf(product.sku)).toEqual({ available: 4, minQuantity: 2 });
  });

  it("is forbidden to a customer", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { minQuantity: 2 });

    // Act
    const response = await call("PUT", `/inventory/${product.sku}`, {
      token: customer.token,
      body: { minQuantity: 9 },
    });

    // Assess
    expectError(response, 403, "FORBIDDEN");
    expect(await stockOf(product.sku)).toMatchObject({ minQuantity: 2 });
  });
});

describe("GET /inventory/{sku}/movements", () => {
  it("lists the ledger oldest first, with availableAfter, reason, who made each adjustment and its note, and a null orderId for manual moves", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 5 });
    for (const body of [
      { delta: 10, reason: "restock", note: "PO 4711" },
      { delta: -2, reason: "damage" },
      { delta: -1, reason: "correction" },
      { delta: 3, reason: "return" },
    ]) {
      expect((await adjust(product.sku, body)).status).toBe(200);
    }

    // Act
    const response = await call("GET", `/inventory/${product.sku}/movements`, {
      token: manager.token,
    });

    // Assess
    expect(response.status).toBe(200);
    const by = { id: manager.id, email: manager.email };
    const manual = { at: isoDate, orderId: null, actor: by, note: null };
    expect(response.body).toEqual({
      items: [
        {
          at: isoDate,
          delta: 5,
          reason: "initial",
          orderId: null,
          availableAfter: 5,
          actor: null,
          note: null,
        },
        { ...manual, delta: 10, reason: "restock", availableAfter: 15, note: "PO 4711" },
        { ...manual, delta: -2, reason: "damage", availableAfter: 13 },
        { ...manual, delta: -1, reason: "correction", availableAfter: 12 },
        { ...manual, delta: 3, reason: "return", availableAfter: 15 },
      ],
      nextCursor: null,
    });
    const times = response.body.items.map((m: { at: string }) => Date.parse(m.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(await stockOf(product.sku)).toMatchObject({ available: 15 });
    await expectLedgerHolds(product.sku);
  });

  it("returns an empty list for a SKU created with no stock", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 0 });

    // Act
    const response = await call("GET", `/inventory/${product.sku}/movements`, {
      token: admin.token,
    });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ items: [], nextCursor: null });
  });

  it("pages with limit and cursor, each movement exactly once and in order", async () => {
    // Prepare: an initial movement and six adjustments.
    const product = await createTestProduct(t.db, { available: 1 });
    for (let i = 1; i <= 6; i++) {
      expect((await adjust(product.sku, { delta: i, reason: "restock" })).status).toBe(200);
    }

    // Act
    const pages: { delta: number }[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const response = await call("GET", `/inventory/${product.sku}/movements?limit=3${query}`, {
        token: manager.token,
      });
      expect(response.status).toBe(200);
      pages.push(response.body.items);
      cursor = response.body.nextCursor;
    } while (cursor !== null && pages.length < 10);

    // Assess
    expect(pages.map((p) => p.map((m) => m.delta))).toEqual([[1, 1, 2], [3, 4, 5], [6]]);
  });

  it("does not mix in other SKUs' movements", async () => {
    // Prepare
    const mine = await createTestProduct(t.db, { available: 2 });
    const other = await createTestProduct(t.db, { available: 7 });
    expect((await adjust(other.sku, { delta: -1, reason: "damage" })).status).toBe(200);

    // Act
    const response = await call("GET", `/inventory/${mine.sku}/movements`, {
      token: manager.token,
    });

    // Assess
    expect(response.body.items.map((m: { delta: number }) => m.delta)).toEqual([2]);
  });

  it.each([
    ["limit=0", "limit=0"],
    ["limit=1001", "limit=1001"],
    ["limit=abc", "limit=abc"],
  ])("rejects %s with 400 VALIDATION_FAILED", async (_, query) => {
    // Prepare
    const product = await createTestProduct(t.db);

    // Act
    const response = await call("GET", `/inventory/${product.sku}/movements?${query}`, {
      token: manager.token,
    });

    // Assess
    expectError(response, 400, "VALIDATION_FAILED");
  });

  it.each([
    ["garbage", "@@@garbage@@@"],
    ["a catalog-shaped cursor", Buffer.from(JSON.stringify(["SKU-1"])).toString("base64url")],
  ])("rejects %s as cursor with 400 INVALID_CURSOR", async (_, cursor) => {
    // Prepare
    const product = await createTestProduct(t.db);

    // Act
    const response = await call(
      "GET",
      `/inventory/${product.sku}/movements?cursor=${encodeURIComponent(cursor)}`,
      { token: manager.token },
    );

    // Assess
    expectError(response, 400, "INVALID_CURSOR");
  });

  it("is forbidden to a customer", async () => {
    // Prepare
    const product = await createTestProduct(t.db);

    // Act
    const response = await call("GET", `/inventory/${product.sku}/movements`, {
      token: customer.token,
    });

    // Assess
    expectError(response, 403, "FORBIDDEN");
  });
});

describe("an unknown SKU", () => {
  const sku = `NOPE-${randomUUID()}`;

  it.each([
    [
      "POST adjustments (adding)",
      "POST",
      `/inventory/${sku}/adjustments`,
      { delta: 5, reason: "restock" },
    ],
    [
      "POST adjustments (removing)",
      "POST",
      `/inventory/${sku}/adjustments`,
      { delta: -5, reason: "damage" },
    ],
    ["PUT minQuantity", "PUT", `/inventory/${sku}`, { minQuantity: 3 }],
    ["GET movements", "GET", `/inventory/${sku}/movements`, undefined],
  ])("answers %s with 404 NOT_FOUND and writes nothing", async (_, method, url, body) => {
    // Act
    const response = await call(method, url, {
      token: manager.token,
      ...(body ? { body } : {}),
    });

    // Assess
    expectError(response, 404, "NOT_FOUND");
    expect(await movementCount(sku)).toBe(0);
    expect(await stockOf(sku)).toBeUndefined();
    expect(await eventsFor(sku)).toEqual([]);
  });
});
