import { randomUUID } from "node:crypto";
import { useDatabase } from "@flashstock/testing/database";
import { createTestProduct, createUser, type TestUser } from "@flashstock/testing/fixtures";
import {
  type CancelAttempt,
  type CheckoutAttempt,
  expectEmailsExactlyOnce,
  expectInvariants,
} from "@flashstock/testing/invariants";
import { reportScenario } from "@flashstock/testing/scenario";
import { useShopRuntime } from "@flashstock/testing/shop-runtime";
import { describe, expect, inject, it } from "vitest";
import { ChaosClient, type Reply, shippingAddress } from "../test/chaos-client.ts";

/** CHAOS_LOAD_SECONDS shortens the run while working on the scenario; 60 s is the scenario. */
const SECONDS = Number(process.env.CHAOS_LOAD_SECONDS ?? 60);
/** Virtual users, each sending its next request as soon as the last is answered. */
const USERS = Number(process.env.CHAOS_LOAD_USERS ?? 32);

const t = useDatabase();
// npm start's runtime with its consumers and relay, as a shop runs it locally.
const shop = useShopRuntime(() => t.url);

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const some = <T>(items: readonly T[], n: number): T[] =>
  [...items].sort(() => Math.random() - 0.5).slice(0, n);

describe("sustained load", () => {
  it(`serves a ${SECONDS}-second mixed workload of browsing, cart edits, checkouts, cancels and restocks at the machine's capacity with no answer but the documented ones, and keeps every invariant`, async () => {
    // Prepare: 4 scarce SKUs (they sell out within seconds; restocks of 20 bring them back, below
    // their minimum) and 16 plentiful ones; 300 customers; a stock manager who restocks now and then.
    const scarce = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        createTestProduct(t.db, { name: `Scarce ${i}`, available: 100, minQuantity: 30 }),
      ),
    );
    const plenty = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        createTestProduct(t.db, { name: `Plenty ${i}`, available: 1_000_000, minQuantity: 10 }),
      ),
    );
    const skus = [...scarce, ...plenty].map((p) => p.sku);
    const customers = await Promise.all(Array.from({ length: 300 }, () => createUser(t.db)));
    const manager = await createUser(t.db, "stock_manager");
    const client = new ChaosClient(shop.runtime.url);
    const checkouts: CheckoutAttempt[] = [];
    const cancels: CancelAttempt[] = [];
    const ordersOf = new Map<string, string[]>();
    const actions = new Map<string, number>();
    const count = (action: string) => actions.set(action, (actions.get(action) ?? 0) + 1);
    const send = async (
      route: string,
      allowed: string[],
      method: string,
      path: string,
      options: Parameters<ChaosClient["send"]>[2] = {},
    ): Promise<Reply> => {
      const reply = await client.send(method, path, options);
      client.check(route, reply, allowed);
      return reply;
    };

    const browse = async () => {
      count("browse");
      const page = await send("GET /products", ["200"], "GET", "/products?limit=20");
      if (page.body?.nextCursor) {
        await send(
          "GET /products",
          ["200"],
          "GET",
          `/products?limit=20&cursor=${page.body.nextCursor}`,
        );
      }
      await send("GET /products/{sku}", ["200"], "GET", `/products/${pick(skus)}`);
    };
    /** A cart with 1-3 lines; undefined when a line was refused (409 INSUFFICIENT_STOCK). */
    const fillCart = async (customer: TestUser) => {
      const cart = await send("POST /carts", ["201"], "POST", "/carts", { token: customer.token });
      if (cart.status !== 201) return undefined;
      for (const sku of some(skus, 1 + Math.floor(Math.random() * 3))) {
        const set = await send(
          "PUT /carts/{id}/items/{sku}",
          ["200", "409 INSUFFICIENT_STOCK"],
          "PUT",
          `/carts/${cart.body.id}/items/${sku}`,
          { token: customer.token, body: { quantity: 1 + Math.floor(Math.random() * 3) } },
        );
        if (set.status !== 200) return undefined;
      }
      return cart.body.id as string;
    };
    const editCart = async (customer: TestUser) => {
      count("cart edit");
      const cartId = await fillCart(customer);
      if (!cartId) return;
      const cart = await send("GET /carts/{id}", ["200"], "GET", `/carts/${cartId}`, {
        token: customer.token,
      });
      const line = cart.body?.items?.[0];
      if (line) {
        await send(
          "DELETE /carts/{id}/items/{sku}",
          ["200"],
          "DELETE",
          `/carts/${cartId}/items/${line.sku}`,
          {
            token: customer.token,
          },
        );
      }
    };
    const buy = async (customer: TestUser) => {
      count("checkout");
      const cartId = await fillCart(customer);
      if (!cartId) return;
      const key = randomUUID();
      const attempt: CheckoutAttempt = { customerId: customer.id, cartId, key, answers: [] };
      checkouts.push(attempt);
      // One in five buyers double-submits: the same key again, which must replay the first answer.
      for (let i = Math.random() < 0.2 ? 2 : 1; i > 0; i--) {
        const reply = await send(
          "POST /checkout",
          ["201", "409 INSUFFICIENT_STOCK"],
          "POST",
          "/checkout",
          {
            token: customer.token,
            headers: { "idempotency-key": key },
            body: { cartId, shippingAddress, payment: { method: "cash_on_delivery" } },
          },
        );
        const code = reply.body?.error?.code as string | undefined;
        attempt.answers.push({
          status: reply.status,
          ...(reply.status === 201 ? { orderId: reply.body.id as string } : {}),
          ...(code ? { code } : {}),
          ...(reply.replayed ? { replayed: true } : {}),
        });
        if (reply.status === 201) {
          ordersOf.set(customer.id, [...(ordersOf.get(customer.id) ?? []), reply.body.id]);
        }
      }
    };
    const cancel = async (customer: TestUser) => {
      const orderId = ordersOf.get(customer.id)?.pop();
      if (!orderId) return buy(customer);
      count("cancel");
      // Fulfilment confirms orders within moments; a confirmed order can no longer be cancelled.
      const reply = await send(
        "POST /orders/{id}/cancel",
        ["200", "409 INVALID_STATE"],
        "POST",
        `/orders/${orderId}/cancel`,
        {
          token: customer.token,
        },
      );
      cancels.push({ orderId, answers: [{ status: reply.status }] });
    };
    const restock = async () => {
      count("restock");
      await send(
        "POST /inventory/{sku}/adjustments",
        ["200"],
        "POST",
        `/inventory/${pick(scarce).sku}/adjustments`,
        {
          token: manager.token,
          body: { delta: 20, reason: "restock" },
        },
      );
    };
    const listOrders = async (customer: TestUser) => {
      count("order list");
      await send("GET /orders", ["200"], "GET", "/orders?limit=20", { token: customer.token });
    };

    // Act
    const started = Date.now();
    const end = started + SECONDS * 1000;
    let requests = 0;
    await Promise.all(
      Array.from({ length: USERS }, async () => {
        while (Date.now() < end) {
          const customer = pick(customers);
          const r = Math.random();
          if (r < 0.3) await browse();
          else if (r < 0.45) await editCart(customer);
          else if (r < 0.8) await buy(customer);
          else if (r < 0.9) await cancel(customer);
          else if (r < 0.99) await listOrders(customer);
          else await restock();
        }
      }),
    );
    const elapsed = (Date.now() - started) / 1000;
    for (const n of client.tally.values()) requests += n;

    // Assess
    expect(client.unexpected.slice(0, 20)).toEqual([]);
    expect(shop.runtime.child.exitCode, shop.runtime.output()).toBeNull();
    const summary = await expectInvariants(t.db, { checkouts, cancels });
    const emails = await expectEmailsExactlyOnce(
      t.db,
      {
        sesUrl: inject("sesEndpoint"),
        stockManager: shop.stockManager,
        ops: shop.ops,
        customers: customers.map((c) => c.email),
      },
      { timeoutMs: 300_000, pollMs: 2_000 },
    );
    expect(summary.accepted).toBeGreaterThan(0);
    expect(await shop.runtime.stop()).toBe(0);
    reportScenario("sustained load", {
      injected: `${USERS} closed-loop clients for ${elapsed.toFixed(0)} s against npm start's runtime (consumers running): ${requests} requests (${(requests / elapsed).toFixed(0)}/s); ${[...actions].map(([a, n]) => `${n} ${a}`).join(", ")}; 20 SKUs (4 scarce, restocked by 20 now and then), 300 customers, one in five checkouts sent twice with its key`,
      checked: `answers: ${client.summary()}; none but the documented ones, runtime alive and exits 0; ${summary.accepted} checkouts accepted, ${summary.refused} refused; ${summary.orders} orders (${summary.cancelled} cancelled), each a 201 a client saw, one per key; ${summary.unitsSold} units sold = units in live orders, ledger = stock for ${summary.skus} SKUs, none below 0; emails once each: ${emails.lowStock} low-stock, ${emails.outOfStock} out-of-stock, ${emails.held} held-order, ${emails.confirmations} confirmations, every order confirmed or cancelled`,
    });
  });
});
