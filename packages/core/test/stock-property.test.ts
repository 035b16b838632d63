import { randomUUID } from "node:crypto";
import * as Cart from "@flashstock/core/cart/index";
import { placeOrder } from "@flashstock/core/checkout/index";
import { DomainError } from "@flashstock/core/error";
import { adjustStock } from "@flashstock/core/inventory/index";
import { cancelOrder } from "@flashstock/core/order/index";
import { changeWallet } from "@flashstock/core/payment/index";
import {
  CreatePromotionInput,
  createPromotion,
  updatePromotion,
} from "@flashstock/core/promotion/index";
import { expectLedgerConsistent, useDatabase } from "@flashstock/testing/database";
import {
  address,
  createTestProduct,
  createUser,
  type TestUser,
} from "@flashstock/testing/fixtures";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const t = useDatabase();

type Op =
  | { kind: "setItem"; customer: number; sku: number; quantity: number }
  | { kind: "checkout"; customer: number; reuseKey: boolean; storeCredit: boolean }
  | { kind: "topUp"; customer: number; amountCents: number }
  | { kind: "cancel"; pick: number }
  | { kind: "adjust"; sku: number; delta: number }
  | { kind: "applyCode"; customer: number }
  | { kind: "removeCode"; customer: number }
  | { kind: "switchCode"; active: boolean };

const CUSTOMERS = 3;
const SKUS = 3;

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("setItem" as const),
    customer: fc.nat(CUSTOMERS - 1),
    sku: fc.nat(SKUS - 1),
    quantity: fc.nat(4),
  }),
  fc.record({
    kind: fc.constant("checkout" as const),
    customer: fc.nat(CUSTOMERS - 1),
    reuseKey: fc.boolean(),
    storeCredit: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("topUp" as const),
    customer: fc.nat(CUSTOMERS - 1),
    amountCents: fc.integer({ min: 500, max: 5_000 }),
  }),
  fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat(20) }),
  fc.record({
    kind: fc.constant("adjust" as const),
    sku: fc.nat(SKUS - 1),
    delta: fc.integer({ min: -4, max: 4 }).filter((d) => d !== 0),
  }),
  fc.record({ kind: fc.constant("applyCode" as const), customer: fc.nat(CUSTOMERS - 1) }),
  fc.record({ kind: fc.constant("removeCode" as const), customer: fc.nat(CUSTOMERS - 1) }),
  fc.record({ kind: fc.constant("switchCode" as const), active: fc.boolean() }),
);

/** The run's coupon code: few uses in all and per customer, so that the limits are reached. */
const promotion = fc.record({
  kind: fc.constantFrom("percent" as const, "fixed" as const),
  value: fc.integer({ min: 1, max: 100 }),
  minSubtotalCents: fc.constantFrom(0, 1_000, 3_000),
  usageLimit: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
  perCustomerLimit: fc.option(fc.integer({ min: 1, max: 2 }), { nil: null }),
});

/** Operations in one batch run at the same time, so the database sees them interleaved. */
const scenario = fc.record({
  stock: fc.array(fc.nat(6), { minLength: SKUS, maxLength: SKUS }),
  minimums: fc.array(fc.nat(3), { minLength: SKUS, maxLength: SKUS }),
  // A flash sale's limit per customer on some SKUs.
  limits: fc.array(fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }), {
    minLength: SKUS,
    maxLength: SKUS,
  }),
  promotion,
  batches: fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }),
});

// A retry with the last key after moving to a new cart is a different body: 422, as it must be.
const expected = new Set([
  "INSUFFICIENT_STOCK",
  "CART_CLOSED",
  "CART_EMPTY",
  "INVALID_STATE",
  "IDEMPOTENCY_KEY_REUSED",
  "INSUFFICIENT_FUNDS",
  "PURCHASE_LIMIT",
  "PROMOTION_INACTIVE",
  "PROMOTION_MIN_SUBTOTAL",
  "PROMOTION_EXHAUSTED",
  "PROMOTION_ALREADY_USED",
]);

let runs = 0;

describe("stock, store-credit and coupon invariants under random interleavings (fast-check)", () => {
  // 100 runs of bounded batches: the limit is for a loaded 2-core machine, not a measure.
  it("never lets available or a wallet go below 0, keeps initial + sum(movements) = available and sum(transactions) = balance, debits and refunds each store-credit order at most once, never lets a customer hold more of a SKU than its limit, and keeps every code's used = its orders not cancelled <= usageLimit, per customer <= perCustomerLimit", async () => {
    const customers: TestUser[] = [];
    for (let i = 0; i < CUSTOMERS; i++) customers.push(await createUser(t.db));
    const staff = await createUser(t.db, "admin");

    await fc.assert(
      fc.asyncProperty(scenario, async ({ stock, minimums, limits, promotion, batches }) => {
        // Prepare: fresh SKUs for this run, one open cart and one last key per customer.
        const skus: string[] = [];
        for (let i = 0; i < SKUS; i++) {
          const p = await createTestProduct(t.db, {
            available: stock[i] ?? 0,
            minQuantity: minimums[i] ?? 0,
            maxPerCustomer: limits[i] ?? null,
          });
          skus.push(p.sku);
        }
        const code = `PROP-${process.pid}-${++runs}`;
        await createPromotion(
          t.db,
          CreatePromotionInput.parse({
            ...promotion,
            code,
            value: promotion.kind === "fixed" ? promotion.value * 50 : promotion.value,
            currency: promotion.kind === "fixed" ? "EUR" : undefined,
          }),
        );
        const carts = await Promise.all(customers.map((c) => Cart.createCart(t.db, c.principal)));
        const cartIds = carts.map((c) => c.id);
        const lastKey: string[] = customers.map(() => randomUUID());
        const orders: { id: string; customer: TestUser }[] = [];

        const run = async (o: Op) => {
          switch (o.kind) {
            case "setItem": {
              const c = customers[o.customer] as TestUser;
              return Cart.setItem(
                t.db,
                cartIds[o.customer] as string,
                skus[o.sku] as string,
                { quantity: o.quantity },
                c.principal,
              );
            }
            case "checkout": {
              const c = customers[o.customer] as TestUser;
              const key = o.reuseKey ? (lastKey[o.customer] as string) : randomUUID();
              lastKey[o.customer] = key;
              const cartId = cartIds[o.customer] as string;
              // Duplicate holds are order policy, not stock: off, so every checkout is plain.
              const { order } = await placeOrder(
                t.db,
                c.principal,
                key,
                {
                  cartId,
                  shippingAddress: address,
                  payment: { method: o.storeCredit ? "store_credit" : "cash_on_delivery" },
                },
                { duplicateWindowMinutes: 0, cardPayments: false },
              );
              if (!orders.some((x) => x.id === order.id))
                orders.push({ id: order.id, customer: c });
              // The customer moves on to a new cart, as a storefront would.
              if (cartIds[o.customer] === cartId) {
                cartIds[o.customer] = (await Cart.createCart(t.db, c.principal)).id;
              }
              return order;
            }
            case "cancel": {
              const target = orders[o.pick % Math.max(orders.length, 1)];
              if (!target) return undefined;
              return cancelOrder(
                t.db,
                target.id,
                o.pick % 2 ? target.customer.principal : staff.principal,
              );
            }
            case "topUp":
              return changeWallet(
                t.db,
                (customers[o.customer] as TestUser).id,
                { amountCents: o.amountCents, reason: "top_up" },
                staff.id,
              );
            case "applyCode":
              return Cart.applyPromotion(
                t.db,
                cartIds[o.customer] as string,
                { code },
                (customers[o.customer] as TestUser).principal,
              );
            case "removeCode":
              return Cart.removePromotion(
                t.db,
                cartIds[o.customer] as string,
                (customers[o.customer] as TestUser).principal,
              );
            case "switchCode":
              return updatePromotion(t.db, code, { active: o.active });
            case "adjust":
              return adjustStock(
                t.db,
                skus[o.sku] as string,
                { delta: o.delta, reason: "correction" },
                staff.id,
              );
          }
        };

        for (const batch of batches) {
          // Act
          const outcomes = await Promise.allSettled(batch.map(run));

          // Assess: only the documented business refusals, never anything else.
          for (const outcome of outcomes) {
            if (outcome.status === "rejected") {
              const err = outcome.reason;
              expect(err instanceof DomainError && expected.has(err.code), String(err)).toBe(true);
            }
          }
          await expectLedgerConsistent(t.db);
        }
      }),
      { numRuns: 100 },
    );
  }, 180_000);
});
