/**
 * A storefront's HTTP client for the reliability scenarios: it records every answer, retries a 5xx
 * as the README tells clients to (checkout with the same Idempotency-Key), and never waits forever.
 * What it may be told is the documented set; anything else is collected as `unexpected`.
 */
import { randomUUID } from "node:crypto";
import type { Db } from "@flashstock/core/db/index";
import { expectConformingAnswer } from "@flashstock/testing/conformance";
import { createTestProduct, createUser, type TestUser } from "@flashstock/testing/fixtures";
import type { Answer, CancelAttempt, CheckoutAttempt } from "@flashstock/testing/invariants";
import pg from "pg";

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field
  body: any;
  replayed: boolean;
}

/** 0 with one of these codes: no HTTP answer at all (a reset socket, or no answer in time). */
export const NETWORK_ERROR = "NETWORK_ERROR";
export const TIMED_OUT = "TIMED_OUT";

export const shippingAddress = {
  name: "Grace Hopper",
  line1: "1 Harbor Way",
  city: "Arlington",
  postalCode: "22201",
  country: "US",
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A count that can be waited on: scenarios time their faults by it rather than by the clock. */
class Progress {
  count = 0;
  private readonly waiting: { n: number; resolve: () => void }[] = [];

  add(): void {
    this.count++;
    for (const w of this.waiting.filter((w) => w.n <= this.count)) {
      this.waiting.splice(this.waiting.indexOf(w), 1);
      w.resolve();
    }
  }

  /** Resolves as soon as the count reaches `n` (at once if it has). */
  when(n: number): Promise<void> {
    if (this.count >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ n, resolve }));
  }
}

export class ChaosClient {
  /** Answers outside the documented set for their route: each one fails the scenario. */
  readonly unexpected: { route: string; status: number; code?: string }[] = [];
  /** How many answers of each "status code" kind were seen, e.g. `503 SERVICE_UNAVAILABLE`. */
  readonly tally = new Map<string, number>();
  private readonly acceptedSoFar = new Progress();
  private readonly verdictsSoFar = new Progress();

  /** Checkouts answered 201 so far: scenarios time their faults by the sale's progress. */
  get accepted(): number {
    return this.acceptedSoFar.count;
  }

  /** Resolves as soon as `n` checkouts have been answered 201 (at once if they have). */
  whenAccepted(n: number): Promise<void> {
    return this.acceptedSoFar.when(n);
  }

  /**
   * Answers that were a verdict so far, on any route: not a 5xx, not a network error nor a
   * timeout. Faults paced by these cannot outrun the work they interrupt, whatever the machine's
   * speed, as faults paced by all answers could: each fault makes failed answers of its own.
   */
  get verdicts(): number {
    return this.verdictsSoFar.count;
  }

  /** Resolves as soon as `n` answers have been verdicts (at once if they have). */
  whenVerdicts(n: number): Promise<void> {
    return this.verdictsSoFar.when(n);
  }

  constructor(
    readonly baseUrl: string,
    /** A request that takes longer than this counts as a hang. */
    readonly timeoutMs = 30_000,
  ) {}

  async send(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let reply: Reply;
    let answer: { headers: Record<string, string>; text: string } | undefined;
    try {
      const res = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      answer = { headers: Object.fromEntries(res.headers.entries()), text };
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = { error: { code: `NOT_JSON: ${text.slice(0, 80)}` } };
      }
      reply = {
        status: res.status,
        body,
        replayed: res.headers.get("idempotent-replayed") === "true",
      };
    } catch (err) {
      const code = (err as Error).name === "TimeoutError" ? TIMED_OUT : NETWORK_ERROR;
      reply = { status: 0, body: { error: { code } }, replayed: false };
    }
    if (answer) {
      // An answer the OpenAPI document does not declare for the route is unexpected too.
      try {
        expectConformingAnswer({
          method,
          path: new URL(this.baseUrl + path).pathname,
          status: reply.status,
          ...answer,
        });
      } catch (err) {
        this.unexpected.push({
          route: `${method} ${path}`,
          status: reply.status,
          code: String(err),
        });
      }
    }
    const kind = `${reply.status} ${reply.body?.error?.code ?? ""}`.trim();
    this.tally.set(kind, (this.tally.get(kind) ?? 0) + 1);
    if (reply.status > 0 && reply.status < 500) this.verdictsSoFar.add();
    return reply;
  }

  /** Records an answer outside `allowed` (statuses, or `status CODE` for errors) as unexpected. */
  check(route: string, reply: Reply, allowed: string[]): void {
    const code = reply.body?.error?.code as string | undefined;
    if (!allowed.includes(String(reply.status)) && !allowed.includes(`${reply.status} ${code}`)) {
      this.unexpected.push({ route, status: reply.status, ...(code ? { code } : {}) });
    }
  }

  /**
   * Sends until the answer is not a 5xx (or `attempts` run out), waiting a little longer each
   * time: a storefront's retry. Network errors and timeouts are recorded and retried too.
   */
  async untilVerdict(
    route: string,
    allowed: string[],
    attempt: () => Promise<Reply>,
    attempts = 60,
  ): Promise<Reply[]> {
    const replies: Reply[] = [];
    for (let i = 0; i < attempts; i++) {
      const reply = await attempt();
      replies.push(reply);
      this.check(route, reply, [...allowed, "503 SERVICE_UNAVAILABLE"]);
      if (reply.status > 0 && reply.status < 500) break;
      await sleep(50 + Math.random() * 50 * Math.min(i + 1, 10));
    }
    return replies;
  }

  /** POST /carts then PUT the lines, each retried on 5xx; undefined when a line was refused (409). */
  async cartWith(token: string, lines: Record<string, number>): Promise<string | undefined> {
    const [cart] = (
      await this.untilVerdict("POST /carts", ["201"], () => this.send("POST", "/carts", { token }))
    ).slice(-1);
    if (cart?.status !== 201) return undefined;
    const id = cart.body.id as string;
    for (const [sku, quantity] of Object.entries(lines)) {
      const set = (
        await this.untilVerdict(
          "PUT /carts/{id}/items/{sku}",
          ["200", "409 INSUFFICIENT_STOCK"],
          () => this.send("PUT", `/carts/${id}/items/${sku}`, { token, body: { quantity } }),
        )
      ).at(-1);
      if (set?.status !== 200) return undefined;
    }
    return id;
  }

  /** Checks out with one Idempotency-Key, retried with the same key on 5xx, as the README says. */
  async checkout(
    customer: { id: string; token: string },
    cartId: string,
    key = randomUUID(),
  ): Promise<CheckoutAttempt> {
    const replies = await this.untilVerdict(
      "POST /checkout",
      ["201", "409 INSUFFICIENT_STOCK"],
      () =>
        this.send("POST", "/checkout", {
          token: customer.token,
          headers: { "idempotency-key": key },
          body: { cartId, shippingAddress, payment: { method: "cash_on_delivery" } },
        }),
    );
    if (replies.at(-1)?.status === 201) this.acceptedSoFar.add();
    return { customerId: customer.id, cartId, key, answers: replies.map(answer) };
  }

  /**
   * Cancels, retried on 5xx. A retry of a cancel that had committed gets 409 INVALID_STATE with
   * status "cancelled": the cancel is done, and is recorded as a 200.
   */
  async cancel(token: string, orderId: string): Promise<CancelAttempt> {
    const replies = await this.untilVerdict(
      "POST /orders/{id}/cancel",
      ["200", "409 INVALID_STATE"],
      () => this.send("POST", `/orders/${orderId}/cancel`, { token }),
    );
    const answers = replies.map(answer);
    const last = replies.at(-1);
    if (last?.status === 409 && last.body?.error?.details?.status === "cancelled") {
      answers.push({ status: 200, orderId });
    }
    return { orderId, answers };
  }

  /** The tally as `503 SERVICE_UNAVAILABLE x12, 201 x40, ...`, most frequent first. */
  summary(): string {
    return [...this.tally.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} x${n}`)
      .join(", ");
  }
}

function answer(reply: Reply): Answer {
  const code = reply.body?.error?.code as string | undefined;
  return {
    status: reply.status,
    ...(reply.status < 300 && reply.status > 0 ? { orderId: reply.body?.id as string } : {}),
    ...(code ? { code } : {}),
    ...(reply.replayed ? { replayed: true } : {}),
  };
}

/** What a backendKiller did, for the scenario's report. */
export interface KillerReport {
  rounds: number;
  /** Backends pg_terminate_backend ended, over all rounds. */
  terminated: number;
  /**
   * What went wrong on the killer's own side (a failed round, its session lost, a failed
   * reconnection): each one is handled here, never left to crash the test process.
   */
  errors: string[];
}

/**
 * Terminates the runtime's backends from a session of its own, round after round, until stopped:
 * what a failover, a pooler restart or an operator's pg_terminate_backend does to a running
 * application. Only backends whose application_name is `applicationName` are touched, so that the
 * killer's session and the test's own pool survive it.
 *
 * Round `i` (from 0) starts when `due(i)` resolves, and at least `minGapMs` after the previous
 * one: a scenario paces the rounds by the work done (answers a client has seen), so that a loaded
 * machine gets the same faults per request as an idle one instead of a livelock in which no request
 * outlives the next round.
 *
 * A consumer's transaction that has recorded its event in processed_events is never cut: killing
 * it between SES accepting an email and COMMIT re-sends that email on redelivery, the one window
 * the README documents (SES has no idempotency key), and the scenarios check exactly-once emails.
 * See killRound for how.
 */
/**
 * One round: every backend of the runtime terminated, in one transaction of the killer's that
 * first takes processed_events in SHARE mode. That lock conflicts with the ROW EXCLUSIVE lock a
 * consumer takes when it records its event, so it waits until every consumer between that INSERT
 * and its COMMIT has committed, and holds new ones at their INSERT, before any email, until the
 * round is over. (Checking pg_locks and terminating in one statement left a gap: the killer's own
 * backend, descheduled on a loaded machine between the two, let a consumer record its event and
 * send its email before the signal arrived, and the email went out twice.)
 */
async function killRound(session: pg.Client, applicationName: string): Promise<number> {
  await session.query("BEGIN");
  try {
    await session.query("SET LOCAL lock_timeout = '10s'");
    await session.query("LOCK TABLE processed_events IN SHARE MODE");
    const { rows } = await session.query<{ n: number }>(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid))::int AS n
         FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
          AND a.application_name = $1 AND a.backend_type = 'client backend'`,
      [applicationName],
    );
    await session.query("COMMIT");
    return rows[0]?.n ?? 0;
  } catch (err) {
    await session.query("ROLLBACK").catch(() => {});
    throw err;
  }
}

export function backendKiller(options: {
  /** The database whose backends are terminated; the killer connects to it. */
  url: string;
  applicationName: string;
  due: (round: number) => Promise<void>;
  minGapMs?: number;
}) {
  const report: KillerReport = { rounds: 0, terminated: 0, errors: [] };
  const failed = (what: string, err: unknown) =>
    report.errors.push(`${what}: ${(err as Error)?.message ?? String(err)}`);
  let stopping = false;
  let stopped!: () => void;
  const stop = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  let session: pg.Client | undefined;

  /** The killer's own session; a new one after the last was lost. */
  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({
      connectionString: options.url,
      application_name: "flashstock-backend-killer",
    });
    // A session lost between rounds must not crash the process: the next round reconnects.
    client.on("error", (err) => {
      failed("session lost", err);
      if (session === client) session = undefined;
    });
    try {
      await client.connect();
    } catch (err) {
      client.end().catch(() => {});
      throw err;
    }
    return client;
  };
  const close = async (client: pg.Client | undefined) => {
    // end() on a connection that is already gone may never settle: stop() must not wait for it.
    await Promise.race([client?.end().catch(() => {}), sleep(1_000)]);
  };

  const done = (async () => {
    for (;;) {
      // A `due` that fails ends nothing: the round is simply due at once.
      const due = Promise.resolve(report.rounds).then(options.due);
      await Promise.race([due.catch(() => {}), stop]);
      if (stopping) break;
      try {
        session ??= await connect();
        report.terminated += await killRound(session, options.applicationName);
      } catch (err) {
        failed(`round ${report.rounds}`, err);
        const lost = session;
        session = undefined;
        void close(lost);
      }
      report.rounds++;
      await Promise.race([sleep(options.minGapMs ?? 10), stop]);
    }
    await close(session);
  })();

  return {
    /** Ends the rounds (one under way finishes first) and closes the session; never rejects. */
    async stop(): Promise<KillerReport> {
      stopping = true;
      stopped();
      await done;
      return report;
    },
  };
}

export interface FlashSale {
  hot: string;
  staple: string;
  customers: TestUser[];
  /** The buyers' and repeaters' addresses, for the confirmations. */
  emails: string[];
  /** Runs the sale through `client`; resolves when every buyer has a verdict. */
  run(client: ChaosClient): Promise<{
    checkouts: CheckoutAttempt[];
    cancels: CancelAttempt[];
    refusedAtCart: number;
  }>;
  describe: string;
}

/**
 * The sale the scenarios put under fire: `units` of a hot SKU (low below `minQuantity`) for
 * `buyers` customers of 1 unit each, every fourth of whom cancels what they got; and `repeaters`
 * customers who order 2 of a staple twice, one after the other (the second is a held duplicate).
 * Each makes a cart, adds the line and checks out, all over HTTP, retrying 5xx as a storefront would.
 */
export async function prepareFlashSale(
  db: Db,
  options: {
    units?: number;
    minQuantity?: number;
    buyers?: number;
    repeaters?: number;
    /** How many buyers are at it at once; all of them by default. */
    concurrency?: number;
  } = {},
): Promise<FlashSale> {
  const { units = 40, minQuantity = 15, buyers = 160, repeaters = 10 } = options;
  const concurrency = options.concurrency ?? buyers + repeaters;
  const hot = await createTestProduct(db, { name: "Drop", available: units, minQuantity });
  const staple = await createTestProduct(db, { name: "Staple", available: 1000 });
  const buying = await Promise.all(Array.from({ length: buyers }, () => createUser(db)));
  const repeating = await Promise.all(Array.from({ length: repeaters }, () => createUser(db)));
  return {
    hot: hot.sku,
    staple: staple.sku,
    customers: [...buying, ...repeating],
    emails: [...buying, ...repeating].map((c) => c.email),
    describe: `a sale of ${units} units to ${buyers} buyers (a quarter cancelling) and ${repeaters} repeat orders, ${concurrency} shoppers at a time`,
    async run(client) {
      const checkouts: CheckoutAttempt[] = [];
      const cancels: CancelAttempt[] = [];
      let refusedAtCart = 0;
      const buy = async (customer: TestUser, lines: Record<string, number>, cancel: boolean) => {
        const cartId = await client.cartWith(customer.token, lines);
        if (!cartId) {
          refusedAtCart++;
          return;
        }
        const attempt = await client.checkout(customer, cartId);
        checkouts.push(attempt);
        const verdict = attempt.answers.at(-1);
        if (cancel && verdict?.status === 201) {
          cancels.push(await client.cancel(customer.token, verdict.orderId as string));
        }
      };
      const shoppers = [
        ...buying.map((b, i) => () => buy(b, { [hot.sku]: 1 }, i % 4 === 0)),
        ...repeating.map((r) => async () => {
          await buy(r, { [staple.sku]: 2 }, false);
          await buy(r, { [staple.sku]: 2 }, false);
        }),
      ];
      // Repeaters interleaved with the buyers, so that every part of the sale meets the faults.
      shoppers.sort((_a, _b) => Math.random() - 0.5);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, shoppers.length) }, async () => {
          while (next < shoppers.length) await (shoppers[next++] as () => Promise<void>)();
        }),
      );
      return { checkouts, cancels, refusedAtCart };
    },
  };
}
