/**
 * The local runtime gives each handler only what infra/topology.ts says it needs, so that every test
 * going through the dispatcher or the event system also checks the needs the cloud definitions
 * grant (SST links, CDK IAM statements). A need left out of the topology fails here, before a
 * deploy, as its missing permission would fail in the cloud.
 */
import { createDispatcher } from "@flashstock/local/dispatch";
import { countRows, useDatabase } from "@flashstock/testing/database";
import { address, cartWith, createTestProduct, createUser } from "@flashstock/testing/fixtures";
import { describe, expect, it } from "vitest";
import { type HttpRoute, routes } from "../../../infra/topology.ts";

const t = useDatabase();

const checkoutRoute = routes.find((r) => r.path === "/checkout") as HttpRoute;

async function checkoutThrough(dispatch: ReturnType<typeof createDispatcher>) {
  const product = await createTestProduct(t.db, { available: 5 });
  const buyer = await createUser(t.db);
  const cartId = await cartWith(buyer, { [product.sku]: 1 });
  return dispatch({
    method: "POST",
    rawPath: "/checkout",
    rawQueryString: "",
    headers: {
      authorization: `Bearer ${buyer.token}`,
      "content-type": "application/json",
      "idempotency-key": crypto.randomUUID(),
    },
    body: JSON.stringify({
      cartId,
      shippingAddress: address,
      payment: { method: "cash_on_delivery" },
    }),
  });
}

describe("handlers run with only their topology needs", () => {
  it("lets a checkout publish its events when its route declares publish", async () => {
    // Prepare
    const dispatch = createDispatcher([checkoutRoute]);

    // Act
    const response = await checkoutThrough(dispatch);

    // Assess
    expect(checkoutRoute.needs).toContain("publish");
    expect(response.statusCode).toBe(201);
  });

  it("fails a checkout whose route leaves out publish, as a missing IAM statement would, with the order kept for the relay", async () => {
    // Prepare
    const withoutPublish = {
      ...checkoutRoute,
      needs: checkoutRoute.needs.filter((n) => n !== "publish"),
    };
    const dispatch = createDispatcher([withoutPublish]);
    const ordersBefore = await countRows(t.db, "orders");

    // Act
    const response = await checkoutThrough(dispatch);

    // Assess
    expect(response.statusCode).toBe(500);
    expect(await countRows(t.db, "orders")).toBe(ordersBefore + 1);
    expect(
      await countRows(t.db, "outbox WHERE type = 'order.placed' AND published_at IS NULL"),
    ).toBeGreaterThanOrEqual(1);
  });

  it("refuses the token secret to a route that does not declare tokens, before anything is written", async () => {
    // Prepare
    const withoutTokens = { ...checkoutRoute, needs: ["database", "publish"] as const };
    const dispatch = createDispatcher([withoutTokens]);
    const ordersBefore = await countRows(t.db, "orders");

    // Act
    const response = await checkoutThrough(dispatch);

    // Assess
    expect(response.statusCode).toBe(500);
    expect(await countRows(t.db, "orders")).toBe(ordersBefore);
  });
});
