import { useDatabase } from "@flashstock/testing/database";
import { expectEmailsExactlyOnce, expectInvariants } from "@flashstock/testing/invariants";
import { reportScenario } from "@flashstock/testing/scenario";
import { useShopRuntime } from "@flashstock/testing/shop-runtime";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { backendKiller, ChaosClient, prepareFlashSale } from "./chaos-client.ts";

const t = useDatabase();
// What npm start runs, on this file's database, with its consumers and relay, sending its emails to
// the run's SES emulator. Redelivery after 2 s instead of 60, so recovery shows in the test.
const shop = useShopRuntime(() => t.url, {
  LOCAL_VISIBILITY_TIMEOUT_SECONDS: "2",
  OUTBOX_RELAY_MIN_AGE_SECONDS: "1",
  DB_POOL_MAX: "10",
});

/**
 * A round of terminations after every this many verdicts the client has seen: the faults grow
 * with the sale, not with the time it takes, so that a loaded machine sees the same fight as an
 * idle one (about 100 rounds for this sale), and requests finish between two rounds.
 */
const VERDICTS_PER_ROUND = 5;
/**
 * The work is bounded by the rounds above; the limit is for a loaded 2-core machine, where the
 * sale alone takes some 20 s (a few seconds idle) and the emails a few more.
 */
const TIMEOUT_MS = 180_000;

describe("connections killed mid-checkout", { timeout: TIMEOUT_MS }, () => {
  it("answers every buyer with 201, 409 or a retryable 503, never hangs or crashes, and loses and doubles nothing while backends are terminated throughout a flash sale", async () => {
    // Prepare: 40 hot units (low below 15) for 160 buyers, a quarter of whom cancel what they
    // got; 10 customers order the same staple twice (the second is a held duplicate). Every
    // buyer makes its cart and checks out under fire.
    const sale = await prepareFlashSale(t.db);
    const client = new ChaosClient(shop.runtime.url);

    // Act: the runtime's backends terminated after every 5 verdicts; this file's own pool and the
    // killer's session are spared, so that only the runtime fights the faults.
    const killer = backendKiller({
      url: t.url,
      applicationName: shop.applicationName,
      due: (round) => client.whenVerdicts((round + 1) * VERDICTS_PER_ROUND),
    });
    // Even a test that failed or timed out stops the killer before its database is dropped.
    onTestFinished(async () => {
      await killer.stop();
    });
    const { checkouts, cancels, refusedAtCart } = await sale.run(client);
    const { terminated, rounds, errors } = await killer.stop();

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
      injected: `pg_terminate_backend on every backend of the runtime in ${rounds} rounds (one after every ${VERDICTS_PER_ROUND} verdicts the client saw) during ${sale.describe}: ${terminated} backends terminated (${errors.length} errors on the killer's side${errors.length ? `: ${errors.slice(0, 3).join("; ")}` : ""})`,
      checked: `answers: ${client.summary()}; none unexpected, no hang, runtime alive and exits 0; ${summary.accepted} keys accepted (${summary.replayedAfterUnavailable} replayed after a 503), ${summary.refused} refused, ${refusedAtCart} refused at the cart; ${summary.orders} orders (${summary.cancelled} cancelled), each one a 201 a client saw; ${summary.unitsSold} units sold = units in live orders, ${summary.unitsLeft} left, ledger = stock for ${summary.skus} SKUs; emails once each: ${emails.lowStock} low-stock, ${emails.outOfStock} out-of-stock, ${emails.held} held-order, ${emails.confirmations} confirmations`,
    });
  });
});
