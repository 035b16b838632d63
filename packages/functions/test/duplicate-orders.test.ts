import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import {
  availableOf,
  expectLedgerConsistent,
  orderStatus,
  outboxData,
  useDatabase,
} from "@flashstock/testing/database";
import { useEventSystem } from "@flashstock/testing/events";
import {
  address,
  cartWith,
  checkout,
  createOneOfEachRole,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { afterEach, describe, expect, it } from "vitest";

const t = useDatabase();
const events = useEventSystem();

afterEach(async () => {
  await expectLedgerConsistent(t.db);
});

/** A customer and a product, and a function that checks the same order out from a new cart. */
async function repeatBuyer(lines = 2, available = 10) {
  const buyer = await createUser(t.db, "customer", "Grace Hopper");
  const product = await createTestProduct(t.db, { name: "Compiler", available, priceCents: 700 });
  const order = async (quantity = lines, to = address) =>
    checkout(buyer, await cartWith(buyer, { [product.sku]: quantity }), randomUUID(), to);
  return { buyer, product, order };
}

const statusOf = (id: string) => orderStatus(t.db, id);

const opsMailAbout = async (orderId: string) =>
  (await events.inbox(events.ops)).filter((m) => m.body.text?.includes(orderId));

const confirmationsTo = async (buyer: TestUser) =>
  (await events.inbox(buyer.email)).filter((m) => m.subject.endsWith("is confirmed"));

describe("duplicate orders: held in the database", () => {
  it("holds a second checkout of the same lines to the same address, naming the first order, and takes its stock", async () => {
    // Prepare
    const { product, order } = await repeatBuyer(2);
    const first = await order();

    // Act
    const second = await order();

    // Assess
    expect(first.body.status).toBe("placed");
    expect(second.status).toBe(201);
    expect(second.body.status).toBe("on_hold");
    expect(second.body.hold).toEqual({ reason: "SUSPECTED_DUPLICATE", duplicateOf: first.body.id });
    expect(await availableOf(t.db, product.sku)).toBe(6);
    expect(await outboxData(t.db, "order.held", "orderId", second.body.id)).toHaveLength(1);
    expect(await outboxData(t.db, "order.placed", "orderId", second.body.id)).toHaveLength(0);
  });

  it("reports a held order to order operations exactly once, and confirms only the first order", async () => {
    // Prepare
    const { buyer, order } = await repeatBuyer(1);
    const first = await order();
    const second = await order();

    // Act
    await events.drain();
    await events.system.runSchedule("outbox-relay");
    await events.drain();

    // Assess
    const mail = await opsMailAbout(second.body.id);
    expect(mail).toHaveLength(1);
    expect(mail[0]?.subject).toBe(
      `Suspected duplicate order on hold: ${second.body.id.slice(0, 8)} from ${buyer.email}`,
    );
    const text = mail[0]?.body.text ?? "";
    for (const expected of [
      first.body.id,
      buyer.email,
      buyer.id,
      "Grace Hopper",
      "1 x Compiler",
      `POST http://localhost:3000/orders/${second.body.id}/release`,
      `POST http://localhost:3000/orders/${second.body.id}/cancel`,
      // The ops desk's page for it, in the web UI (WEB_URL's default).
      `http://127.0.0.1:3001/ops/orders/${second.body.id}`,
    ]) {
      expect(text).toContain(expected);
    }
    expect(await statusOf(first.body.id)).toBe("confirmed");
    expect(await statusOf(second.body.id)).toBe("on_hold");
    expect(await confirmationsTo(buyer)).toHaveLength(1);
  });

  it("lets ops release a held order: it is placed, then confirmed through order.released, and the customer is emailed", async () => {
    // Prepare
    const { ops } = await createOneOfEachRole(t.db);
    const { buyer, order } = await repeatBuyer(1);
    await order();
    const held = await order();
    await events.drain();

    // Act
    const r = await call("POST", `/orders/${held.body.id}/release`, { token: ops.token });
    await events.drain();

    // Assess
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("placed");
    expect(r.body.hold).toEqual({
      reason: "SUSPECTED_DUPLICATE",
      duplicateOf: expect.any(String),
      releasedBy: ops.id,
      releasedAt: expect.stringMatching(/Z$/),
    });
    expect(await outboxData(t.db, "order.released", "orderId", held.body.id)).toHaveLength(1);
    expect(await statusOf(held.body.id)).toBe("confirmed");
    expect(await confirmationsTo(buyer)).toHaveLength(2);
  });

  it("lets ops cancel a held order, which puts its stock back and confirms nothing", async () => {
    // Prepare
    const { ops } = await createOneOfEachRole(t.db);
    const { buyer, product, order } = await repeatBuyer(3);
    await order();
    const held = await order();

    // Act
    const r = await call("POST", `/orders/${held.body.id}/cancel`, { token: ops.token });
    await events.drain();

    // Assess
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("cancelled");
    expect(await availableOf(t.db, product.sku)).toBe(7);
    expect(await statusOf(held.body.id)).toBe("cancelled");
    expect(await confirmationsTo(buyer)).toHaveLength(1);
  });

  it("does not treat a different address or a different quantity as a duplicate", async () => {
    // Prepare
    const { order } = await repeatBuyer(1);
    await order();

    // Act
    const otherQuantity = await order(2);
    const otherAddress = await order(1, { ...address, line1: "1 Other Street" });

    // Assess
    expect(otherQuantity.body.status).toBe("placed");
    expect(otherAddress.body.status).toBe("placed");
  });

  it("treats the same address written differently (case, spaces) as the same order", async () => {
    // Prepare
    const { order } = await repeatBuyer(1);
    await order();

    // Act
    const r = await order(1, {
      ...address,
      line1: "12  st james's SQUARE ",
      postalCode: "SW1Y4JH",
    });

    // Assess
    expect(r.body.status).toBe("on_hold");
  });

  it("does not treat another customer's identical order, a cancelled order or one outside the window as a duplicate", async () => {
    // Prepare
    const { buyer, product, order } = await repeatBuyer(1);
    const first = await order();
    const other = await createUser(t.db);
    const cancelled = await order(2);
    await call("POST", `/orders/${cancelled.body.id}/cancel`, { token: buyer.token });
    await t.db.query("UPDATE orders SET created_at = now() - interval '31 minutes' WHERE id = $1", [
      first.body.id,
    ]);

    // Act
    const othersOrder = await checkout(other, await cartWith(other, { [product.sku]: 1 }));
    const afterCancel = await order(2);
    const afterWindow = await order(1);

    // Assess
    expect(othersOrder.body.status).toBe("placed");
    expect(afterCancel.body.status).toBe("placed");
    expect(afterWindow.body.status).toBe("placed");
  });

  it("holds exactly one of two identical checkouts sent at the same moment (a double click on two tabs)", async () => {
    // Prepare
    const { buyer, product } = await repeatBuyer(1);
    const carts = await Promise.all([1, 2].map(() => cartWith(buyer, { [product.sku]: 1 })));

    // Act
    const results = await Promise.all(carts.map((cartId) => checkout(buyer, cartId)));

    // Assess
    expect(results.map((r) => r.status)).toEqual([201, 201]);
    expect(results.map((r) => r.body.status).sort()).toEqual(["on_hold", "placed"]);
  });

  it("places every order when DUPLICATE_WINDOW_MINUTES is 0", async () => {
    // Prepare
    const { order } = await repeatBuyer(1);
    process.env.DUPLICATE_WINDOW_MINUTES = "0";
    try {
      await order();

      // Act
      const second = await order();

      // Assess
      expect(second.body.status).toBe("placed");
    } finally {
      delete process.env.DUPLICATE_WINDOW_MINUTES;
    }
  });

  it("replays a held order with its hold for a retry with the same Idempotency-Key", async () => {
    // Prepare
    const { buyer, product, order } = await repeatBuyer(1);
    await order();
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    const key = randomUUID();
    const held = await checkout(buyer, cartId, key);

    // Act
    const retry = await checkout(buyer, cartId, key);

    // Assess
    expect(retry.status).toBe(201);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.body).toEqual(held.body);
  });
});

describe("POST /orders/{id}/release: who and when", () => {
  it("refuses a customer, even the order's own, with 403 FORBIDDEN", async () => {
    // Prepare
    const { buyer, order } = await repeatBuyer(1);
    await order();
    const held = await order();

    // Act
    const r = await call("POST", `/orders/${held.body.id}/release`, { token: buyer.token });

    // Assess
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("FORBIDDEN");
    expect(await statusOf(held.body.id)).toBe("on_hold");
  });

  it("lets an admin release, and refuses a stock manager with 403", async () => {
    // Prepare
    const { admin, manager } = await createOneOfEachRole(t.db);
    const { order } = await repeatBuyer(1);
    await order();
    const held = await order();

    // Act
    const byManager = await call("POST", `/orders/${held.body.id}/release`, {
      token: manager.token,
    });
    const byAdmin = await call("POST", `/orders/${held.body.id}/release`, { token: admin.token });

    // Assess
    expect(byManager.status).toBe(403);
    expect(byAdmin.status).toBe(200);
  });

  it("refuses to release an order that is not on hold with 409 INVALID_STATE, and an unknown one with 404", async () => {
    // Prepare
    const { ops } = await createOneOfEachRole(t.db);
    const { order } = await repeatBuyer(1);
    const placed = await order();

    // Act
    const notHeld = await call("POST", `/orders/${placed.body.id}/release`, { token: ops.token });
    const unknown = await call("POST", `/orders/${randomUUID()}/release`, { token: ops.token });

    // Assess
    expect(notHeld.status).toBe(409);
    expect(notHeld.body.error).toMatchObject({
      code: "INVALID_STATE",
      details: { status: "placed", allowed: ["on_hold"] },
    });
    expect(unknown.status).toBe(404);
  });
});
