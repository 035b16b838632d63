import { expectEmailsExactlyOnce, expectInvariants } from "@flashstock/testing/invariants";
import { useOwnPostgres } from "@flashstock/testing/own-postgres";
import { reportScenario } from "@flashstock/testing/scenario";
import { useShopRuntime } from "@flashstock/testing/shop-runtime";
import { describe, expect, inject, it } from "vitest";
import { ChaosClient, prepareFlashSale } from "./chaos-client.ts";

// A server of this file's own, with fsync on, so that the crash below tests what an acknowledged
// order survives. Registered first, so the runtime below starts once it is up.
const postgres = useOwnPostgres();
const shop = useShopRuntime(() => postgres.url, {
  // A consumer that failed while the server was down gets its message again after 5 s; the fifth
  // failed receive sends it to the dead-letter queue, so an outage of 20 s would lose an email (12 s
  // with 3 s redeliveries). Each outage here lasts 1-4 s on a loaded 2-core machine (the report
  // says how long), and a storefront's retries span some 17 s (ChaosClient).
  LOCAL_VISIBILITY_TIMEOUT_SECONDS: "5",
  OUTBOX_RELAY_MIN_AGE_SECONDS: "1",
  DB_POOL_MAX: "10",
});

/** The sale and both faults are bounded work; the limit is for a loaded 2-core machine. */
const TIMEOUT_MS = 180_000;

/** Seconds since `start` (a performance.now()), to one decimal. */
const secondsSince = (start: number) => ((performance.now() - start) / 1000).toFixed(1);

describe("the database restarted during a flash sale", { timeout: TIMEOUT_MS }, () => {
  it("answers 503 while Postgres is down, recovers without a restart of its own after a clean stop and after a crash, and loses and doubles nothing", async () => {
    // Prepare: 120 units for 160 buyers, 24 shoppers at a time, so that orders keep coming
    // through both faults.
    const { db } = postgres;
    const sale = await prepareFlashSale(db, { units: 120, minQuantity: 30, concurrency: 24 });
    const client = new ChaosClient(shop.runtime.url);
    const health: number[] = [];

    // Act: a clean stop (fast shutdown) as the 20th order is accepted, and a crash (immediate
    // shutdown, no checkpoint) 20 orders after the restart; each time the server is started
    // again on the same port.
    const selling = sale.run(client);
    await Promise.race([client.whenAccepted(20), selling]);
    const atStop = client.accepted;
    const stoppedAt = performance.now();
    await postgres.stop();
    health.push((await client.send("GET", "/health")).status);
    await postgres.start();
    const downAfterStop = secondsSince(stoppedAt);
    const afterFirst = client.accepted;
    await Promise.race([client.whenAccepted(afterFirst + 20), selling]);
    const atCrash = client.accepted;
    const crashedAt = performance.now();
    await postgres.crash();
    health.push((await client.send("GET", "/health")).status);
    await postgres.start();
    const downAfterCrash = secondsSince(crashedAt);
    const afterCrash = client.accepted;
    const { checkouts, cancels, refusedAtCart } = await selling;

    // Assess
    expect(client.unexpected).toEqual([]);
    expect(shop.runtime.child.exitCode, shop.runtime.output()).toBeNull();
    expect(health).toEqual([503, 503]);
    expect((await client.send("GET", "/health")).status).toBe(200);
    const summary = await expectInvariants(db, { checkouts, cancels });
    const emails = await expectEmailsExactlyOnce(
      db,
      {
        sesUrl: inject("sesEndpoint"),
        stockManager: shop.stockManager,
        ops: shop.ops,
        customers: sale.emails,
      },
      { resendsAllowed: 2 * 2 },
    );
    // Both faults hit the sale while it ran (orders accepted after each), or this proved nothing.
    expect(client.accepted).toBeGreaterThan(afterCrash);
    expect(client.tally.get("503 SERVICE_UNAVAILABLE")).toBeGreaterThan(0);
    expect(emails.held).toBe(10);
    expect(await shop.runtime.stop()).toBe(0);
    reportScenario("the database restarted during a flash sale", {
      injected: `Postgres stopped (fast shutdown) after ${atStop} accepted checkouts (down ${downAfterStop} s) and crashed (SIGQUIT, immediate shutdown, no checkpoint) after ${atCrash} (down ${downAfterCrash} s), each time started again on the same port (${client.accepted - afterCrash} more accepted after that), during ${sale.describe}; the runtime was not restarted`,
      checked: `answers: ${client.summary()}; GET /health 503 while down, 200 after; none unexpected, no hang, runtime alive and exits 0; ${summary.accepted} keys accepted (${summary.replayedAfterUnavailable} replayed after a 503), ${summary.refused} refused, ${refusedAtCart} refused at the cart; ${summary.orders} orders (${summary.cancelled} cancelled), every 201 survived the crash and each order is a 201 a client saw; ${summary.unitsSold} units sold = units in live orders, ${summary.unitsLeft} left, ledger = stock for ${summary.skus} SKUs; emails once each: ${emails.lowStock} low-stock, ${emails.outOfStock} out-of-stock, ${emails.held} held-order, ${emails.confirmations} confirmations (${emails.resends} sent twice: a consumer cut between SES and COMMIT, at most one per queue per fault)`,
    });
  });
});
