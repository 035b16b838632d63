import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import { orderStatus, useDatabase } from "@flashstock/testing/database";
import { useEventSystem } from "@flashstock/testing/events";
import { cartWith, checkout, createTestProduct, createUser } from "@flashstock/testing/fixtures";
import { describe, expect, it } from "vitest";

const t = useDatabase();
const events = useEventSystem();

describe("order.placed reaches fulfilment for every order", () => {
  it("confirms and emails an order placed again, within five minutes, after the identical one was cancelled", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 10 });
    const first = await checkout(buyer, await cartWith(buyer, { [product.sku]: 1 }));
    await call("POST", `/orders/${first.body.id}/cancel`, { token: buyer.token });

    // Act
    const again = await checkout(buyer, await cartWith(buyer, { [product.sku]: 1 }));
    await events.drain();

    // Assess
    expect(again.body.status).toBe("placed");
    expect(await orderStatus(t.db, again.body.id)).toBe("confirmed");
    const mail = (await events.inbox(buyer.email)).filter((m) =>
      m.body.text?.includes(again.body.id),
    );
    expect(mail).toHaveLength(1);
  });

  it("confirms both of two identical orders when DUPLICATE_WINDOW_MINUTES is 0", async () => {
    // Prepare
    const buyer = await createUser(t.db);
    const product = await createTestProduct(t.db, { available: 10 });
    process.env.DUPLICATE_WINDOW_MINUTES = "0";
    try {
      // Act
      const orders = [
        await checkout(buyer, await cartWith(buyer, { [product.sku]: 1 }), randomUUID()),
        await checkout(buyer, await cartWith(buyer, { [product.sku]: 1 }), randomUUID()),
      ];
      await events.drain();

      // Assess
      for (const o of orders) expect(await orderStatus(t.db, o.body.id)).toBe("confirmed");
    } finally {
      delete process.env.DUPLICATE_WINDOW_MINUTES;
    }
  });
});
