import type { Db } from "@flashstock/core/db/index";
import { type StoredEmail, storedEmails } from "@flashstock/local/ses";
import { expect } from "vitest";
import { checkLedger, orphanMovements, orphanOrderLines } from "./database.ts";

/**
 * The reliability promises (README, Guarantees), checked after every reliability scenario, in
 * one place:
 *
 * 1. Stock: no SKU has `available < 0`; for every SKU `initial + sum(movements) = available`; units
 *    in orders that are not cancelled equal the units the ledger shows as sold and not given back;
 *    no movement or order line is orphaned (checkLedger and its companions in database.ts).
 * 2. Checkout answers (the client's view against the database), per Idempotency-Key:
 *    - A 201 is a promise: its order is in the database, on the cart that was checked out.
 *    - A 4xx (409 INSUFFICIENT_STOCK, CART_CLOSED, ...) is a verdict "no order": none may exist for
 *      that key's cart.
 *    - A 5xx (503 SERVICE_UNAVAILABLE) is no verdict: "the database could not be reached, retry
 *      with the same key". The request may or may not have committed before the connection was
 *      lost. So the client must retry with the same key until it gets a verdict, and an order may
 *      exist after a 5xx only if that retry returned it (a 201, `Idempotent-Replayed: true` when
 *      the first attempt had committed). An attempt that ends on a 5xx fails the check: after the
 *      fault is gone, every key must reach a verdict.
 *    - All 201s to one key name the same order, the database holds exactly one order per key that
 *      got a 201 (idempotency_keys.response names it) and at most one per cart, and no order
 *      exists that no client attempt accounts for.
 * 3. Cancellations: a 200 the client saw is a cancelled order in the database.
 * 4. Emails (where the scenario runs the consumers and the SES emulator), exactly once each: one
 *    low-stock email per `inventory.low` event (one per crossing), one out-of-stock email per
 *    `inventory.out`, one ops email per `order.held`, and one confirmation per confirmed order;
 *    every `placed` order is confirmed in the end (nothing stuck in the outbox or a queue). A fault
 *    that cuts a consumer's connection between SES accepting an email and COMMIT may send that one
 *    email twice (the README's documented window); scenarios that cause such faults say how many
 *    (see expectEmailsExactlyOnce).
 */

export interface Answer {
  status: number;
  /** The order id of a 2xx. */
  orderId?: string;
  /** The error code of a 4xx/5xx; `NETWORK_ERROR` when no HTTP answer came at all. */
  code?: string;
  /** The `Idempotent-Replayed: true` header. */
  replayed?: boolean;
}

/** What one purchase attempt saw: one customer, one cart, one Idempotency-Key, every answer in order. */
export interface CheckoutAttempt {
  customerId: string;
  cartId: string;
  key: string;
  answers: Answer[];
}

/** One customer's cancellation of one order, every answer in order. */
export interface CancelAttempt {
  orderId: string;
  answers: Answer[];
}

export interface InvariantSummary {
  skus: number;
  /** Orders in the database, and of them cancelled. */
  orders: number;
  cancelled: number;
  /** Checkout keys whose verdict was a 201 / a 4xx. */
  accepted: number;
  refused: number;
  /** 5xx answers seen before a verdict, and keys whose 5xx was followed by a replayed 201. */
  unavailable: number;
  replayedAfterUnavailable: number;
  /** Units sold (ledger) and left, over all SKUs. */
  unitsSold: number;
  unitsLeft: number;
}

const isVerdict = (a: Answer | undefined) => a !== undefined && a.status < 500 && a.status > 0;

/** Checks invariants 1 to 3 (see above) and returns the numbers, for reportScenario. */
export async function expectInvariants(
  db: Db,
  client: { checkouts: CheckoutAttempt[]; cancels?: CancelAttempt[] },
): Promise<InvariantSummary> {
  // 1. Stock and ledger.
  const ledger = await checkLedger(db);
  for (const row of ledger) {
    expect(row.available, `${row.sku}: available >= 0`).toBeGreaterThanOrEqual(0);
    expect(row.ledgerSum, `${row.sku}: initial + sum(movements) = available`).toBe(row.available);
    expect(row.soldInOrders, `${row.sku}: units in live orders = units sold`).toBe(
      row.soldInLedger,
    );
  }
  expect(await orphanMovements(db), "movements without stock").toBe(0);
  expect(await orphanOrderLines(db), "order lines without product").toBe(0);

  // 2. Checkout answers against the database.
  const { rows: orders } = await db.query<{
    id: string;
    cart_id: string;
    customer_id: string;
    status: string;
  }>("SELECT id, cart_id, customer_id, status FROM orders");
  const { rows: keys } = await db.query<{ customer_id: string; key: string; order_id: string }>(
    "SELECT customer_id, key, response->>'id' AS order_id FROM idempotency_keys WHERE status_code = 201",
  );
  const orderById = new Map(orders.map((o) => [o.id, o]));
  const orderByCart = new Map(orders.map((o) => [o.cart_id, o]));
  const orderByKey = new Map(keys.map((k) => [`${k.customer_id}\n${k.key}`, k.order_id]));
  const accounted = new Set<string>();
  let accepted = 0;
  let refused = 0;
  let unavailable = 0;
  let replayedAfterUnavailable = 0;
  const seenKeys = new Set<string>();
  for (const attempt of client.checkouts) {
    const label = `key ${attempt.key} (cart ${attempt.cartId})`;
    const id = `${attempt.customerId}\n${attempt.key}`;
    expect(seenKeys.has(id), `${label} is used by one attempt only`).toBe(false);
    seenKeys.add(id);
    const verdict = attempt.answers.at(-1);
    expect(isVerdict(verdict), `${label} reached a verdict: ${JSON.stringify(verdict)}`).toBe(true);
    unavailable += attempt.answers.filter((a) => a.status >= 500).length;
    const created = attempt.answers.filter((a) => a.status === 201);
    const inDb = orderByCart.get(attempt.cartId);
    if (verdict?.status === 201) {
      accepted++;
      // Every 201 to this key names the same order, and that order is in the database.
      expect(new Set(created.map((a) => a.orderId)).size, `${label}: one order`).toBe(1);
      expect(inDb?.id, `${label}: its 201 is an order on its cart`).toBe(verdict.orderId);
      expect(orderByKey.get(id), `${label}: the key names its order`).toBe(verdict.orderId);
      expect(inDb?.customer_id, `${label}: the order is the customer's`).toBe(attempt.customerId);
      if (attempt.answers.some((a) => a.status >= 500) && verdict.replayed) {
        replayedAfterUnavailable++;
      }
      accounted.add(verdict.orderId as string);
    } else {
      refused++;
      // A refusal is a verdict: no order on that cart, no order under that key, and no 201 before.
      expect(created, `${label}: no 201 before its refusal`).toEqual([]);
      expect(inDb, `${label}: refused, yet an order exists`).toBeUndefined();
      expect(orderByKey.get(id), `${label}: refused, yet the key names an order`).toBeUndefined();
    }
  }
  // Every order in the database is one that a client was told about.
  const unexplained = orders.filter((o) => !accounted.has(o.id)).map((o) => o.id);
  expect(unexplained, "orders no client was given").toEqual([]);

  // 3. Cancellations the client was told about.
  for (const cancel of client.cancels ?? []) {
    if (cancel.answers.at(-1)?.status === 200) {
      expect(orderById.get(cancel.orderId)?.status, `order ${cancel.orderId} cancelled`).toBe(
        "cancelled",
      );
    }
  }

  return {
    skus: ledger.length,
    orders: orders.length,
    cancelled: orders.filter((o) => o.status === "cancelled").length,
    accepted,
    refused,
    unavailable,
    replayedAfterUnavailable,
    unitsSold: ledger.reduce((n, r) => n + r.soldInLedger, 0),
    unitsLeft: ledger.reduce((n, r) => n + r.available, 0),
  };
}

export interface EmailSummary {
  lowStock: number;
  outOfStock: number;
  held: number;
  confirmations: number;
  /** Emails sent a second time within `resendsAllowed` (see expectEmailsExactlyOnce). */
  resends: number;
}

interface ExpectedEmails {
  /** Per SKU, the inventory.low and inventory.out events. */
  low: Map<string, number>;
  out: Map<string, number>;
  /** Held order ids; confirmed orders with their customer's email. */
  held: string[];
  confirmed: { orderId: string; email: string }[];
  placed: number;
  /** Of those, orders with the fingerprint of an order of the same customer up to 5 minutes older. */
  placedRepeats: number;
}

async function expectedEmails(db: Db): Promise<ExpectedEmails> {
  const { rows: inventory } = await db.query<{ type: string; sku: string; n: number }>(
    `SELECT type, data->>'sku' AS sku, count(*)::int AS n FROM outbox
      WHERE type IN ('inventory.low', 'inventory.out') GROUP BY 1, 2`,
  );
  const { rows: held } = await db.query<{ id: string }>(
    "SELECT data->>'orderId' AS id FROM outbox WHERE type = 'order.held'",
  );
  const { rows: confirmed } = await db.query<{ orderId: string; email: string }>(
    `SELECT o.id AS "orderId", u.email FROM orders o JOIN users u ON u.id = o.customer_id
      WHERE EXISTS (SELECT 1 FROM outbox e WHERE e.type = 'order.confirmed' AND e.data->>'orderId' = o.id::text)`,
  );
  // For the failure message: an order.placed that SQS (or the local queue) dropped as a duplicate
  // of an earlier order.placed with the same deduplication id never reaches fulfilment.
  const { rows: placed } = await db.query<{ n: number; repeats: number }>(
    `SELECT count(*)::int AS n,
            count(*) FILTER (WHERE EXISTS (
              SELECT 1 FROM orders e WHERE e.customer_id = o.customer_id AND e.id <> o.id
                 AND e.fingerprint = o.fingerprint AND e.created_at <= o.created_at
                 AND e.created_at > o.created_at - interval '5 minutes'))::int AS repeats
       FROM orders o WHERE o.status = 'placed'`,
  );
  const count = (type: string) =>
    new Map(inventory.filter((r) => r.type === type).map((r) => [r.sku, r.n]));
  return {
    low: count("inventory.low"),
    out: count("inventory.out"),
    held: held.map((r) => r.id),
    confirmed,
    placed: placed[0]?.n ?? 0,
    placedRepeats: placed[0]?.repeats ?? 0,
  };
}

interface Extra {
  what: string;
  copies: number;
  /** May be seen while consumers are still committing; an error only once all has settled. */
  transient: boolean;
}

/** What is still missing (waiting for delivery), and what was sent more often than expected. */
function compare(expected: ExpectedEmails, emails: StoredEmail[], to: Recipients) {
  const manager = emails.filter((e) => e.destination.to.includes(to.stockManager));
  const ops = emails.filter((e) => e.destination.to.includes(to.ops));
  const missing: string[] = [];
  const extra: Extra[] = [];
  const tally = (what: string, want: number, got: number, transient = false) => {
    if (got < want) missing.push(`${what}: ${got} of ${want}`);
    if (got > want) {
      extra.push({ what: `${what}: ${got}, expected ${want}`, copies: got - want, transient });
    }
  };
  const skus = new Set([...expected.low.keys(), ...expected.out.keys()]);
  for (const e of manager) {
    const sku = /\(([^()]+)\) - \d+ left/.exec(e.subject)?.[1];
    if (sku) skus.add(sku);
  }
  for (const sku of skus) {
    const about = manager.filter((e) => e.subject.includes(`(${sku}) - `));
    tally(
      `low-stock emails for ${sku}`,
      expected.low.get(sku) ?? 0,
      about.filter((e) => e.subject.startsWith("Low stock:")).length,
    );
    tally(
      `out-of-stock emails for ${sku}`,
      expected.out.get(sku) ?? 0,
      about.filter((e) => e.subject.startsWith("URGENT - Out of stock:")).length,
    );
  }
  // Indexed by the short order id in the subject: a load run confirms thousands of orders.
  const byShortId = (list: StoredEmail[], pattern: RegExp) => {
    const index = new Map<string, StoredEmail[]>();
    for (const e of list) {
      const key = pattern.exec(e.subject)?.[1];
      if (key) index.set(key, [...(index.get(key) ?? []), e]);
    }
    return index;
  };
  const heldMail = byShortId(ops, /^Suspected duplicate order on hold: (\S+) from /);
  let matched = 0;
  for (const id of expected.held) {
    const about = (heldMail.get(id.slice(0, 8)) ?? []).filter((e) => e.body.text?.includes(id));
    tally(`ops emails for held ${id}`, 1, about.length);
    matched += about.length;
  }
  tally("ops emails about no held order", 0, ops.length - matched);
  const confirmations = emails.filter((e) => /^Your order \S+ is confirmed$/.test(e.subject));
  const confirmationsOf = byShortId(confirmations, /^Your order (\S+) is confirmed$/);
  matched = 0;
  for (const { orderId, email } of expected.confirmed) {
    const about = (confirmationsOf.get(orderId.slice(0, 8)) ?? []).filter(
      (e) => e.destination.to.includes(email) && e.body.text?.includes(orderId),
    );
    tally(`confirmations of ${orderId}`, 1, about.length);
    matched += about.length;
  }
  // A consumer sends the confirmation just before the COMMIT that writes order.confirmed: until
  // then an email may be here without its event. Counted only once everything has settled.
  tally("confirmations of no confirmed order", 0, confirmations.length - matched, true);
  if (expected.placed > 0) {
    missing.push(
      `${expected.placed} orders still placed, not confirmed (${expected.placedRepeats} of them repeat the lines and address of an order of the same customer up to 5 minutes older)`,
    );
  }
  return { missing, extra, manager, ops, confirmations };
}

export interface Recipients {
  sesUrl: string;
  stockManager: string;
  ops: string;
  /** The customers' addresses; confirmations are matched to them. */
  customers: string[];
}

/**
 * Invariant 4: waits (up to `timeoutMs`) until every email the events call for is in the SES
 * emulator, then waits `settleMs` more (a relay period and a redelivery) and checks that nothing
 * was sent twice: exactly one email per low-stock crossing, out-of-stock, held duplicate and
 * confirmed order, and no order left `placed`.
 *
 * `resendsAllowed` is for faults that cut the database connection under a consumer: a consumer
 * sends its email last inside the transaction that records the event as processed, so a connection
 * lost between SES accepting the email and COMMIT rolls the record back, and the redelivery sends
 * the email again (the one window the README documents: SES takes no idempotency key). Each queue
 * runs one message at a time, so one fault can cut at most one such transaction per queue: a
 * scenario with `f` faults passes `f x 2` (two queues). Even then no email may come three times.
 */
export async function expectEmailsExactlyOnce(
  db: Db,
  to: Recipients,
  options: {
    timeoutMs?: number;
    settleMs?: number;
    resendsAllowed?: number;
    /** How often the emulator's store is read while emails are missing (250 ms). */
    pollMs?: number;
  } = {},
): Promise<EmailSummary> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const allowed = options.resendsAllowed ?? 0;
  const customers = new Set(to.customers);
  const ours = async () =>
    (await storedEmails(to.sesUrl)).filter((e) =>
      e.destination.to.some((r) => r === to.stockManager || r === to.ops || customers.has(r)),
    );
  const expectFewResends = (all: Extra[], settled: boolean) => {
    const extra = all.filter((e) => settled || !e.transient);
    const resends = extra.reduce((n, e) => n + e.copies, 0);
    if (resends > allowed || extra.some((e) => e.copies > 1)) {
      expect(
        extra.map((e) => e.what),
        `emails sent more than once (${allowed} resends allowed)`,
      ).toEqual([]);
    }
    return resends;
  };
  for (;;) {
    // Emails first: every email whose consumer has committed then has its event in the database.
    const emails = await ours();
    const result = compare(await expectedEmails(db), emails, to);
    expectFewResends(result.extra, false);
    if (result.missing.length === 0) break;
    if (Date.now() > deadline) expect(result.missing, "emails never sent").toEqual([]);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
  }
  await new Promise((r) => setTimeout(r, options.settleMs ?? 4_000));
  const emails = await ours();
  const result = compare(await expectedEmails(db), emails, to);
  const resends = expectFewResends(result.extra, true);
  expect(result.missing, "emails missing").toEqual([]);
  return {
    lowStock: result.manager.filter((e) => e.subject.startsWith("Low stock:")).length,
    outOfStock: result.manager.filter((e) => e.subject.startsWith("URGENT")).length,
    held: result.ops.length,
    confirmations: result.confirmations.length,
    resends,
  };
}
