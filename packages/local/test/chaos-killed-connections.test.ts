import { useDatabase } from "@flashstock/testing/database";
import { expectEmailsExactlyOnce, expectInvariants } from "@flashstock/testing/invariants";
import { reportScenario } from "@flashstock/testing/scenario";
import { useShopRuntime } from "@flashstock/testing/shop-runtime";
import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { backendKiller, ChaosClient, prepareFlashSale } from "./chaos-client.ts";

const t = useDatabase();
// What npm start runs, on this file's database, with its consumers and relay, sending its emails to
// the run's SES emulator. Redelivery after 2 s instead of 60, so recovery shows in the test.
const shop = useShopRuntime(() => t.url, {
  LOCAL_VISIBILITY_TIMEOUT_SECONDS: "2",
  OUTBOX_RELAY_MIN_AGE_SECONDS: "1",
  DB_POOL_MAX: "10",
});

describe("connections killed mid-checkout", () => {
  it("answers every buyer with 201, 409 or a retryable 503, never hangs or crashes, and loses and doubles nothing while backends are terminated throughout a flash sale", async () => {
    // Prepare: 40 hot units (low below 15) for 160 buyers, a quarter of whom cancel what they
    // got; 10 customers order the same staple twice (the second is a held duplicate). Every
    // buyer makes its cart and checks out under fire.
    const sale = await prepareFlashSale(t.db);
    const client = new ChaosClient(shop.runtime.url);
    const killerSession = new pg.Client({ connectionString: t.url });
    await killerSession.connect();

    // Act
    const killer = backendKiller(killerSession);
    const { checkouts, cancels, refusedAtCart } = await sale.run(client);
    const { terminated, rounds } = await killer.stop();
    await killerSession.end();

    // Assess
    expect(client.unexpected).toEqual([]);
    expect(shop.runtime.child.exitCode, shop.runtime.output()).toBeNull();
    expect((await client.send("GET", "/health")).status).toBe(200);
    const summary = await expectInvariants(t.db, { checkouts, cancels });
    const emails = await expectEmailsExactlyOnce(t.db, {
      sesUrl: inject("sesEndpoint"),
      stockManager: shop.stockManager,
      ops: shop.ops,
      customers: sale.emails,
    });
    // Termination must have hit requests, or this proved nothing.
    expect(terminated).toBeGreaterThan(0);
    expect(summary.unavailable).toBeGreaterThan(0);
    expect(summary.accepted + summary.refused).toBe(checkouts.length);
    expect(emails.held).toBe(10);
    expect(await shop.runtime.stop()).toBe(0);
    reportScenario("connections killed mid-checkout", {
      injected: `pg_terminate_backend on every backend of the runtime's database in ${rounds} rounds (20-80 ms apart) during ${sale.describe}: ${terminated} backends terminated`,
      checked: `answers: ${client.summary()}; none unexpected, no hang, runtime alive and exits 0; ${summary.accepted} keys accepted (${summary.replayedAfterUnavailable} replayed after a 503), ${summary.refused} refused, ${refusedAtCart} refused at the cart; ${summary.orders} orders (${summary.cancelled} cancelled), each one a 201 a client saw; ${summary.unitsSold} units sold = units in live orders, ${summary.unitsLeft} left, ledger = stock for ${summary.skus} SKUs; emails once each: ${emails.lowStock} low-stock, ${emails.outOfStock} out-of-stock, ${emails.held} held-order, ${emails.confirmations} confirmations`,
    });
  });
});
