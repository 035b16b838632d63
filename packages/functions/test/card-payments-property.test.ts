/**
 * Card payments under random interleavings (fast-check): payments and their webhooks (some
 * delivered twice at once), expiries, cancellations by the customer, redelivered cancellations and
 * Stripe's refund confirmations, in random order and concurrently. Whatever happens, no order keeps
 * money it will not ship for, Stripe is asked for a refund at most once per order and only for a
 * payment that succeeded, and the stock of every cancelled order is back.
 */
import { randomUUID } from "node:crypto";
import type { DomainEvent } from "@flashstock/core/events/index";
import { call, lambdaContext } from "@flashstock/testing/api";
import {
  availableOf,
  expectLedgerConsistent,
  outboxEvents,
  useDatabase,
} from "@flashstock/testing/database";
import { sqsBatch, useEventSystem } from "@flashstock/testing/events";
import { deliverWebhook, useFakeStripe } from "@flashstock/testing/fake-stripe";
import {
  address,
  cartWith,
  checkout,
  createTestProduct,
  createUser,
} from "@flashstock/testing/fixtures";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { handler as paymentsConsumer } from "../src/queue/payments.ts";

const t = useDatabase();
const events = useEventSystem();
const stripe = useFakeStripe();

const ORDERS = 3;

type Op =
  | { kind: "pay"; order: number; twice: boolean }
  | { kind: "expire"; order: number }
  | { kind: "cancel"; order: number }
  | { kind: "redeliverCancellation"; order: number }
  | { kind: "refundConfirmed"; order: number };

const order = fc.nat(ORDERS - 1);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("pay" as const), order, twice: fc.boolean() }),
  fc.record({ kind: fc.constant("expire" as const), order }),
  fc.record({ kind: fc.constant("cancel" as const), order }),
  fc.record({ kind: fc.constant("redeliverCancellation" as const), order }),
  fc.record({ kind: fc.constant("refundConfirmed" as const), order }),
);
const batches = fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 5,
});

describe("card payments under random interleavings (fast-check)", () => {
  it("never keeps money for a cancelled order, asks Stripe for a refund at most once per order and only for money taken, and puts the stock of every cancelled order back", async () => {
    await fc.assert(
      fc.asyncProperty(batches, async (plan) => {
        // Prepare: three card orders of a product with 10 in stock, of 1, 2 and 3 units (equal
        // orders would be held as suspected duplicates once paid).
        const buyer = await createUser(t.db);
        const product = await createTestProduct(t.db, { priceCents: 1_500, available: 10 });
        const orders: { id: string; intentId: string; units: number }[] = [];
        for (let i = 0; i < ORDERS; i++) {
          const cartId = await cartWith(buyer, { [product.sku]: i + 1 });
          const r = await checkout(buyer, cartId, randomUUID(), address, { method: "card" });
          const intent = stripe.intentOf(r.body.id);
          if (r.status !== 201 || !intent) throw new Error(`checkout: ${r.status} ${r.text}`);
          orders.push({ id: r.body.id, intentId: intent.id, units: i + 1 });
        }
        const at = (i: number) => orders[i] as { id: string; intentId: string };
        const run: Record<Op["kind"], (o: Op) => Promise<unknown>> = {
          pay: async (o) => {
            const intent = stripe.intent(at(o.order).intentId);
            // A cancelled PaymentIntent cannot be paid; a paid one is paid already.
            if (intent.status !== "requires_payment_method") return;
            const webhook = stripe.pay(intent.id);
            await Promise.all([
              deliverWebhook(webhook),
              ...((o as { twice: boolean }).twice ? [deliverWebhook(webhook)] : []),
            ]);
          },
          expire: async (o) => {
            await t.db.query(
              "UPDATE orders SET created_at = created_at - interval '16 minutes' WHERE id = $1",
              [at(o.order).id],
            );
            await events.system.runSchedule("expire-unpaid-orders");
          },
          cancel: (o) => call("POST", `/orders/${at(o.order).id}/cancel`, { token: buyer.token }),
          redeliverCancellation: async (o) => {
            const [event] = await outboxEvents(t.db, "order.cancelled", "orderId", at(o.order).id);
            if (!event) return;
            await paymentsConsumer(
              sqsBatch([{ group: at(o.order).id, body: event as DomainEvent }]),
              lambdaContext("payments"),
            );
          },
          refundConfirmed: async (o) => {
            const intent = stripe.intent(at(o.order).intentId);
            if (intent.refunded > 0) await deliverWebhook(stripe.refunded(intent.id));
          },
        };

        // Act
        for (const batch of plan) {
          await Promise.all(batch.map((o) => run[o.kind](o)));
          await events.drain();
        }
        await events.drain();

        // Assess
        let unitsBack = 0;
        for (const { id, intentId, units } of orders) {
          const { rows } = await t.db.query<{ status: string; payment: string }>(
            "SELECT status, payment_status AS payment FROM orders WHERE id = $1",
            [id],
          );
          const { status, payment } = rows[0] as { status: string; payment: string };
          const intent = stripe.intent(intentId);
          const refunds = stripe
            .requestsTo("POST /v1/refunds")
            .filter((r) => r.params["metadata[orderId]"] === id);
          expect(refunds.length, `refund requests of ${id}`).toBeLessThanOrEqual(1);
          if (status === "cancelled") {
            unitsBack += units;
            if (intent.status === "succeeded") {
              // Taken, and the order will not ship: all of it went back, once.
              expect(refunds, `refund of ${id}`).toHaveLength(1);
              expect(intent.refunded).toBe(intent.amount_received);
              expect(["refund_pending", "refunded"]).toContain(payment);
            } else {
              expect(refunds).toHaveLength(0);
              expect(intent.status, `PaymentIntent of cancelled ${id}`).toBe("canceled");
              expect(payment).toBe("cancelled");
            }
          } else {
            expect(refunds).toHaveLength(0);
            expect(payment).toBe(intent.status === "succeeded" ? "paid" : "pending");
            expect(status).toBe(intent.status === "succeeded" ? "confirmed" : "awaiting_payment");
          }
        }
        expect(await availableOf(t.db, product.sku)).toBe(10 - 6 + unitsBack);
        await expectLedgerConsistent(t.db);
      }),
      { numRuns: 100 },
    );
  }, 240_000);
});
