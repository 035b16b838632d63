/**
 * Reports: sales per UTC day, top products and orders by status (revenue for ops and admin only),
 * and the inventory with the same velocity and reorder advice as the stock manager's emails.
 */
import { call } from "@flashstock/testing/api";
import { expectLedgerConsistent, useDatabase } from "@flashstock/testing/database";
import { useEventSystem } from "@flashstock/testing/events";
import {
  cartWith,
  checkout,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

const t = useDatabase();
const events = useEventSystem();

afterEach(async () => {
  await expectLedgerConsistent(t.db);
});

let ops: TestUser;
let manager: TestUser;
let admin: TestUser;
beforeAll(async () => {
  [ops, manager, admin] = await Promise.all([
    createUser(t.db, "ops"),
    createUser(t.db, "stock_manager"),
    createUser(t.db, "admin"),
  ]);
});

/** A customer's order of these lines, placed through the API and then dated `at`. */
async function orderAt(at: string, lines: Record<string, number>): Promise<string> {
  const buyer = await createUser(t.db);
  const r = await checkout(buyer, await cartWith(buyer, lines));
  expect(r.status).toBe(201);
  await t.db.query("UPDATE orders SET created_at = $2 WHERE id = $1", [r.body.id, at]);
  return r.body.id;
}

const sales = (user: TestUser, from: string, to: string) =>
  call("GET", `/reports/sales?from=${from}&to=${to}`, { token: user.token });

describe("GET /reports/sales", () => {
  it("counts orders, units and revenue per UTC day, lists every day of the range, and leaves cancelled orders out of the sales", async () => {
    // Prepare
    const a = await createTestProduct(t.db, { name: "Alpha", priceCents: 1500, available: 20 });
    const b = await createTestProduct(t.db, { name: "Beta", priceCents: 400, available: 20 });
    await orderAt("2020-03-01T23:30:00Z", { [a.sku]: 2 });
    await orderAt("2020-03-02T00:30:00Z", { [a.sku]: 1, [b.sku]: 1 });
    const cancelled = await orderAt("2020-03-02T12:00:00Z", { [b.sku]: 3 });
    const cancel = await call("POST", `/orders/${cancelled}/cancel`, { token: ops.token });
    expect(cancel.status).toBe(200);

    // Act
    const r = await sales(ops, "2020-03-01", "2020-03-03");

    // Assess
    expect(r.status).toBe(200);
    expect(r.body.days).toEqual([
      { date: "2020-03-01", orders: 1, units: 2, revenueCents: 3000 },
      { date: "2020-03-02", orders: 1, units: 2, revenueCents: 1900 },
      { date: "2020-03-03", orders: 0, units: 0, revenueCents: 0 },
    ]);
    expect(r.body.topProducts).toEqual([
      { sku: a.sku, name: "Alpha", units: 3, revenueCents: 4500 },
      { sku: b.sku, name: "Beta", units: 1, revenueCents: 400 },
    ]);
    const byStatus = r.body.byStatus as Record<string, number>;
    expect(byStatus.cancelled).toBe(1);
    expect(Object.values(byStatus).reduce((x, y) => x + y, 0)).toBe(3);
    expect(Object.keys(byStatus).sort()).toEqual([
      "awaiting_payment",
      "cancelled",
      "confirmed",
      "delivered",
      "on_hold",
      "placed",
      "shipped",
    ]);
  });

  it.each([
    ["a stock manager: units, no revenue", () => manager, false, "2020-05-10"],
    ["ops: with revenue", () => ops, true, "2020-05-11"],
    ["an admin: with revenue", () => admin, true, "2020-05-12"],
  ])("shows %s", async (_, who, withRevenue, date) => {
    // Prepare
    const p = await createTestProduct(t.db, { priceCents: 999 });
    await orderAt(`${date}T10:00:00Z`, { [p.sku]: 1 });

    // Act
    const r = await sales(who(), date, date);

    // Assess
    expect(r.status).toBe(200);
    expect(r.body.days).toEqual([
      { date, orders: 1, units: 1, ...(withRevenue ? { revenueCents: 999 } : {}) },
    ]);
    expect("revenueCents" in r.body.topProducts[0]).toBe(withRevenue);
  });

  it("answers a range of exactly 366 days, one entry per day", async () => {
    // Act
    const r = await sales(ops, "2019-01-01", "2020-01-01");

    // Assess
    expect(r.status).toBe(200);
    expect(r.body.days).toHaveLength(366);
    expect(r.body.days.at(-1).date).toBe("2020-01-01");
  });

  it.each([
    ["367 days", "from=2019-01-01&to=2020-01-02"],
    ["to before from", "from=2020-02-02&to=2020-02-01"],
    ["a date that does not exist", "from=2020-02-30&to=2020-03-01"],
    ["no to", "from=2020-02-01"],
    ["a time instead of a date", "from=2020-02-01T00:00:00Z&to=2020-02-02"],
  ])("refuses %s with 400 VALIDATION_FAILED", async (_, query) => {
    // Act
    const r = await call("GET", `/reports/sales?${query}`, { token: ops.token });

    // Assess
    expect([r.status, r.body.error.code]).toEqual([400, "VALIDATION_FAILED"]);
  });
});

describe("GET /reports/inventory", () => {
  it("shows each SKU's velocity and reorder advice with the very numbers of its low-stock email", async () => {
    // Prepare: 7 of 10 sell; the minimum of 4 is crossed at 3 left
    const p = await createTestProduct(t.db, {
      name: "Velocity sneaker",
      available: 10,
      minQuantity: 4,
    });
    for (let i = 0; i < 7; i++) {
      const buyer = await createUser(t.db);
      expect((await checkout(buyer, await cartWith(buyer, { [p.sku]: 1 }))).status).toBe(201);
    }
    await events.drain();

    // Act
    const r = await call("GET", "/reports/inventory", { token: manager.token });

    // Assess
    expect(r.status).toBe(200);
    const item = r.body.items.find((i: { sku: string }) => i.sku === p.sku);
    expect(item).toEqual({
      sku: p.sku,
      name: "Velocity sneaker",
      available: 3,
      minQuantity: 4,
      soldLast24h: 7,
      soldLast7d: 7,
      dailyRate: 7,
      daysOfCover: 3 / 7,
      suggestedReorder: 7 * 14 + 4 - 3,
    });
    const [email] = (await events.inbox(events.stockManager)).filter((m) =>
      m.subject.startsWith(`Low stock: Velocity sneaker (${p.sku})`),
    );
    const field = (name: string) =>
      new RegExp(`^${name}:\\s+(.+)$`, "m").exec(email?.body.text ?? "")?.[1];
    expect(field("Suggested reorder")).toBe(`${item.suggestedReorder} units`);
    expect(field("Rate")).toBe(`${item.dailyRate.toFixed(1)} units/day`);
    expect(field("Sold, last 7 days")).toBe(String(item.soldLast7d));
  });

  it("lists every SKU, in SKU order", async () => {
    // Prepare
    const made = await Promise.all([createTestProduct(t.db), createTestProduct(t.db)]);

    // Act
    const r = await call("GET", "/reports/inventory", { token: admin.token });

    // Assess
    const skus = r.body.items.map((i: { sku: string }) => i.sku);
    expect(skus).toEqual(expect.arrayContaining(made.map((m) => m.sku)));
    expect(skus).toEqual([...skus].sort());
  });
});
