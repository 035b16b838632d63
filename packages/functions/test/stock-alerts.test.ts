import type { DomainEvent } from "@flashstock/core/events/index";
import type { EventPublisher } from "@flashstock/core/events/outbox";
import { call } from "@flashstock/testing/api";
import {
  countRows,
  expectLedgerConsistent,
  outboxEvents,
  useDatabase,
} from "@flashstock/testing/database";
import { useEventSystem } from "@flashstock/testing/events";
import {
  cartWith,
  checkout,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { afterEach, describe, expect, it } from "vitest";

const t = useDatabase();
const events = useEventSystem();

afterEach(async () => {
  events.restorePublisher();
  await expectLedgerConsistent(t.db);
});

/** `buyers` customers each buy `each` units of the SKU at the same moment. */
async function flashSale(sku: string, buyers: number, each = 1): Promise<number[]> {
  const customers = await Promise.all(Array.from({ length: buyers }, () => createUser(t.db)));
  const carts = await Promise.all(customers.map((c) => cartWith(c, { [sku]: each })));
  const results = await Promise.all(customers.map((c, i) => checkout(c, carts[i] as string)));
  return results.map((r) => r.status);
}

async function restock(manager: TestUser, sku: string, delta: number) {
  const r = await call("POST", `/inventory/${sku}/adjustments`, {
    token: manager.token,
    body: { delta, reason: "restock" },
  });
  expect(r.status).toBe(200);
}

/** The stock manager's emails about one SKU, split by kind. */
async function alertsFor(sku: string) {
  const mail = (await events.inbox(events.stockManager)).filter((m) => m.subject.includes(sku));
  return {
    low: mail.filter((m) => m.subject.startsWith("Low stock:")),
    out: mail.filter((m) => m.subject.startsWith("URGENT - Out of stock:")),
  };
}

const field = (text: string | undefined, name: string) =>
  new RegExp(`^${name}:\\s+(.+)$`, "m").exec(text ?? "")?.[1];

describe("stock alerts: one email per crossing", () => {
  it("sends exactly one low-stock and one out-of-stock email when a flash sale takes a SKU below its minimum and then to zero", async () => {
    // Prepare
    const product = await createTestProduct(t.db, {
      name: "Neon Sneaker",
      available: 10,
      minQuantity: 4,
    });

    // Act
    const statuses = await flashSale(product.sku, 14);
    await events.drain();

    // Assess
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(4);
    const { low, out } = await alertsFor(product.sku);
    expect(low.map((m) => m.subject)).toEqual([
      `Low stock: Neon Sneaker (${product.sku}) - 3 left, minimum 4`,
    ]);
    expect(out).toHaveLength(1);
    const email = low[0];
    expect(email?.destination.to).toEqual([events.stockManager]);
    expect(email?.from).toBe("flashstock@example.com");
    expect(field(email?.body.text, "Available at the alert")).toBe("3");
    expect(field(email?.body.text, "Available now")).toBe("0");
    expect(field(email?.body.text, "Minimum")).toBe("4");
    expect(field(email?.body.text, "Sold, last 24 hours")).toBe("10");
    expect(field(email?.body.text, "Sold, last 7 days")).toBe("10");
    // 10 a day: 3 units last about 7 hours; 14 days of cover on top of the minimum, less what is left.
    expect(field(email?.body.text, "Estimated stock-out")).toBe(
      "about 7 hour(s) at the current rate",
    );
    expect(field(email?.body.text, "Suggested reorder")).toBe(`${10 * 14 + 4 - 3} units`);
    expect(email?.body.html).toContain("<td>Neon Sneaker</td>");
    // Both link to the SKU in the stock dashboard, where it is restocked.
    for (const alert of [email, out[0]]) {
      expect(alert?.body.text).toContain(`http://127.0.0.1:3001/stock/${product.sku}`);
      expect(alert?.body.html).toContain(`<a href="http://127.0.0.1:3001/stock/${product.sku}">`);
      expect(alert?.body.text).not.toContain("{sku}");
    }
  });

  it("stays silent while the SKU stays low, and sends one more of each after a restock to the minimum re-arms it", async () => {
    // Prepare
    const manager = await createUser(t.db, "stock_manager");
    const product = await createTestProduct(t.db, { available: 6, minQuantity: 4 });
    await flashSale(product.sku, 6);
    await events.drain();

    // Act: a partial restock (still below the minimum) sells out again, then a full one does
    await restock(manager, product.sku, 2);
    await flashSale(product.sku, 2);
    await events.drain();
    const afterPartialRestock = await alertsFor(product.sku);
    await restock(manager, product.sku, 5);
    await flashSale(product.sku, 5);
    await events.drain();

    // Assess
    expect(afterPartialRestock.low).toHaveLength(1);
    expect(afterPartialRestock.out).toHaveLength(2);
    const { low, out } = await alertsFor(product.sku);
    expect(low).toHaveLength(2);
    expect(out).toHaveLength(3);
  });

  it("sends one low-stock email when the minimum is raised above the stock, none when it is raised again", async () => {
    // Prepare
    const manager = await createUser(t.db, "stock_manager");
    const product = await createTestProduct(t.db, { available: 5, minQuantity: 2 });
    const setMinimum = (minQuantity: number) =>
      call("PUT", `/inventory/${product.sku}`, { token: manager.token, body: { minQuantity } });

    // Act
    expect((await setMinimum(8)).status).toBe(200);
    expect((await setMinimum(9)).status).toBe(200);
    await events.drain();

    // Assess
    const { low } = await alertsFor(product.sku);
    expect(low.map((m) => m.subject)).toEqual([
      `Low stock: Test product (${product.sku}) - 5 left, minimum 8`,
    ]);
  });

  it("escapes a product name in the HTML part", async () => {
    // Prepare
    const product = await createTestProduct(t.db, {
      name: `<img src=x onerror="alert(1)">`,
      available: 1,
      minQuantity: 1,
    });

    // Act
    await flashSale(product.sku, 1);
    await events.drain();

    // Assess
    const { low } = await alertsFor(product.sku);
    expect(low[0]?.body.html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(low[0]?.body.html).not.toContain("<img");
  });
});

describe("publishing: the fast path and the relay", () => {
  const unpublished = (sku: string) =>
    countRows(t.db, "outbox WHERE data->>'sku' = $1 AND published_at IS NULL", [sku]);

  it("publishes a checkout's events before the response and marks them published", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 2, minQuantity: 2 });
    const buyer = await createUser(t.db);
    const cartId = await cartWith(buyer, { [product.sku]: 1 });

    // Act
    const r = await checkout(buyer, cartId);

    // Assess
    expect(r.status).toBe(201);
    expect(await unpublished(product.sku)).toBe(0);
    expect(
      await countRows(t.db, "outbox WHERE data->>'orderId' = $1 AND published_at IS NOT NULL", [
        r.body.id,
      ]),
    ).toBe(2); // order.placed and inventory.low
    expect(events.system.queues["stock-alerts"]?.depth().visible).toBeGreaterThanOrEqual(1);
    await events.drain();
  });

  it("delivers, through the relay, an event the publisher failed on after commit, and exactly one email results", async () => {
    // Prepare: EventBridge is down
    const product = await createTestProduct(t.db, {
      name: "Relay Lamp",
      available: 3,
      minQuantity: 3,
    });
    events.setPublisher({
      publish: async (batch) => ({
        failed: batch.map((e) => ({ id: e.id, error: "ServiceUnavailable" })),
      }),
    });

    // Act
    const statuses = await flashSale(product.sku, 1);
    await events.drain();
    const beforeRelay = await alertsFor(product.sku);
    const { rows: stuck } = await t.db.query<{ publish_attempts: number; last_error: string }>(
      "SELECT publish_attempts, last_error FROM outbox WHERE data->>'sku' = $1",
      [product.sku],
    );
    events.restorePublisher();
    await events.system.runSchedule("outbox-relay");
    await events.system.runSchedule("outbox-relay");
    await events.drain();

    // Assess
    expect(statuses).toEqual([201]);
    expect(beforeRelay.low).toHaveLength(0);
    expect(stuck).toEqual([{ publish_attempts: 1, last_error: "ServiceUnavailable" }]);
    expect(await unpublished(product.sku)).toBe(0);
    const { low } = await alertsFor(product.sku);
    expect(low.map((m) => m.subject)).toEqual([
      `Low stock: Relay Lamp (${product.sku}) - 2 left, minimum 3`,
    ]);
  });

  it("leaves only the failed event of a partly failed publish to the relay", async () => {
    // Prepare: the destination refuses inventory events only (a partial PutEvents failure)
    const product = await createTestProduct(t.db, { available: 1, minQuantity: 1 });
    const real = events.system.publisher;
    const partlyFailing: EventPublisher = {
      publish: async (batch: readonly DomainEvent[]) => {
        const ok = batch.filter((e) => !e.type.startsWith("inventory."));
        await real.publish(ok);
        return {
          failed: batch
            .filter((e) => e.type.startsWith("inventory."))
            .map((e) => ({ id: e.id, error: "InternalFailure" })),
        };
      },
    };
    events.setPublisher(partlyFailing);

    // Act
    await flashSale(product.sku, 1);

    // Assess
    const { rows } = await t.db.query<{ type: string; published: boolean }>(
      `SELECT type, published_at IS NOT NULL AS published FROM outbox
        WHERE data->>'sku' = $1 OR data->'lines'->0->>'sku' = $1 ORDER BY seq`,
      [product.sku],
    );
    expect(rows).toEqual([
      { type: "order.placed", published: true },
      { type: "inventory.low", published: false },
      { type: "inventory.out", published: false },
    ]);
    events.restorePublisher();
    await events.system.runSchedule("outbox-relay");
    await events.drain();
    const { low, out } = await alertsFor(product.sku);
    expect([low.length, out.length]).toEqual([1, 1]);
  });

  it("sends one email when the same event is published twice (fast path and relay racing)", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 1, minQuantity: 1 });
    await flashSale(product.sku, 1);
    const stockEvents = await outboxEvents(t.db, null, "sku", product.sku);

    // Act: the relay finds them again (as if the fast path had not marked them yet)
    await t.db.query("UPDATE outbox SET published_at = NULL WHERE data->>'sku' = $1", [
      product.sku,
    ]);
    await events.system.runSchedule("outbox-relay");
    await events.system.publisher.publish(stockEvents);
    await events.drain();

    // Assess
    const { low, out } = await alertsFor(product.sku);
    expect([low.length, out.length]).toEqual([1, 1]);
  });
});
