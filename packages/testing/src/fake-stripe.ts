/**
 * A small fake of Stripe's HTTP API, for the real `stripe` SDK to talk to (it takes a host, port
 * and protocol): the few endpoints flashstock uses (PaymentIntents create, retrieve and cancel;
 * Refunds create), with Stripe's idempotency (a repeated Idempotency-Key gets the first answer),
 * its error shapes, and every request recorded with its key. Webhook events are signed with the
 * SDK's own test-header helper, so the handler verifies them exactly as it verifies Stripe's.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resetCardPayments } from "@flashstock/functions/lib/stripe";
import Stripe from "stripe";
import { afterAll, beforeAll } from "vitest";
import { call } from "./api.ts";

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  params: Record<string, string>;
}

export interface FakeIntent {
  id: string;
  object: "payment_intent";
  amount: number;
  amount_received: number;
  currency: string;
  status: "requires_payment_method" | "succeeded" | "canceled";
  client_secret: string;
  metadata: Record<string, string>;
  /** Not Stripe's field: what was refunded of it so far. */
  refunded: number;
}

export interface SignedWebhook {
  payload: string;
  signature: string;
}

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString("hex")}`;

export const FAKE_STRIPE_KEY = "sk_test_fake_flashstock";
export const FAKE_WEBHOOK_SECRET = "whsec_fake_flashstock_signing_secret";

export class FakeStripe {
  readonly requests: RecordedRequest[] = [];
  readonly intents = new Map<string, FakeIntent>();
  /** While true, every request fails as an unreachable Stripe does (the connection is dropped). */
  down = false;
  private readonly answered = new Map<string, { status: number; body: unknown }>();
  private readonly server = createServer((req, res) => void this.handle(req, res));
  url = "";

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The requests to one endpoint, e.g. `POST /v1/refunds`. */
  requestsTo(endpoint: string): RecordedRequest[] {
    return this.requests.filter((r) => `${r.method} ${r.path}` === endpoint);
  }

  /** The customer pays: the intent succeeds, and Stripe's webhook event for it, signed. */
  pay(intentId: string, amount?: number): SignedWebhook {
    const intent = this.intent(intentId);
    intent.status = "succeeded";
    intent.amount_received = amount ?? intent.amount;
    return this.event("payment_intent.succeeded", this.publicIntent(intent));
  }

  /** The charge.refunded event Stripe sends once a refund went through. */
  refunded(intentId: string): SignedWebhook {
    const intent = this.intent(intentId);
    return this.event("charge.refunded", {
      id: id("ch"),
      object: "charge",
      payment_intent: intent.id,
      amount: intent.amount_received,
      amount_refunded: intent.refunded,
      refunded: intent.refunded >= intent.amount_received,
      currency: intent.currency,
      metadata: intent.metadata,
    });
  }

  /** Any event, signed with the webhook secret (or another one, to forge it). */
  event(
    type: string,
    object: Record<string, unknown>,
    options: { id?: string; secret?: string } = {},
  ): SignedWebhook {
    const payload = JSON.stringify({
      id: options.id ?? id("evt"),
      object: "event",
      api_version: Stripe.API_VERSION,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      type,
      data: { object },
    });
    const signature = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: options.secret ?? FAKE_WEBHOOK_SECRET,
    });
    return { payload, signature };
  }

  intent(intentId: string): FakeIntent {
    const intent = this.intents.get(intentId);
    if (!intent) throw new Error(`fake Stripe has no PaymentIntent ${intentId}`);
    return intent;
  }

  /** The intent of an order, by the order id in its metadata. */
  intentOf(orderId: string): FakeIntent | undefined {
    return [...this.intents.values()].find((i) => i.metadata.orderId === orderId);
  }

  private publicIntent(intent: FakeIntent): Record<string, unknown> {
    const { refunded: _, ...rest } = intent;
    return rest;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = "";
    for await (const chunk of req) text += chunk;
    const path = (req.url ?? "").split("?")[0] as string;
    const method = req.method ?? "GET";
    const idempotencyKey = req.headers["idempotency-key"] as string | undefined;
    const params = Object.fromEntries(new URLSearchParams(text));
    this.requests.push({ method, path, idempotencyKey, params });
    if (this.down) {
      res.destroy();
      return;
    }
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json", "request-id": id("req") });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${FAKE_STRIPE_KEY}`) {
      return send(401, { error: { type: "invalid_request_error", message: "Invalid API Key" } });
    }
    // Stripe answers a repeated key with the first answer, whatever the new request says.
    const cacheKey = idempotencyKey && `${method} ${path} ${idempotencyKey}`;
    const cached = cacheKey ? this.answered.get(cacheKey) : undefined;
    if (cached) {
      res.setHeader("idempotent-replayed", "true");
      return send(cached.status, cached.body);
    }
    const answer = this.answer(method, path, params);
    if (cacheKey && answer.status < 500) this.answered.set(cacheKey, answer);
    send(answer.status, answer.body);
  }

  private answer(
    method: string,
    path: string,
    params: Record<string, string>,
  ): { status: number; body: unknown } {
    const invalid = (code: string, message: string, status = 400) => ({
      status,
      body: { error: { type: "invalid_request_error", code, message } },
    });
    const metadata = Object.fromEntries(
      Object.entries(params)
        .filter(([k]) => k.startsWith("metadata["))
        .map(([k, v]) => [k.slice("metadata[".length, -1), v]),
    );
    if (method === "POST" && path === "/v1/payment_intents") {
      const intentId = id("pi");
      const intent: FakeIntent = {
        id: intentId,
        object: "payment_intent",
        amount: Number(params.amount),
        amount_received: 0,
        currency: params.currency ?? "",
        status: "requires_payment_method",
        client_secret: `${intentId}_secret_${randomBytes(8).toString("hex")}`,
        metadata,
        refunded: 0,
      };
      this.intents.set(intentId, intent);
      return { status: 200, body: this.publicIntent(intent) };
    }
    const intentPath = /^\/v1\/payment_intents\/([^/]+)(\/cancel)?$/.exec(path);
    if (intentPath) {
      const intent = this.intents.get(intentPath[1] as string);
      if (!intent) return invalid("resource_missing", "No such payment_intent", 404);
      if (method === "GET" && !intentPath[2])
        return { status: 200, body: this.publicIntent(intent) };
      if (method === "POST" && intentPath[2]) {
        if (intent.status === "succeeded" || intent.status === "canceled") {
          return invalid(
            "payment_intent_unexpected_state",
            `You cannot cancel this PaymentIntent because it has a status of ${intent.status}.`,
          );
        }
        intent.status = "canceled";
        return { status: 200, body: this.publicIntent(intent) };
      }
    }
    if (method === "POST" && path === "/v1/refunds") {
      const intent = this.intents.get(params.payment_intent ?? "");
      if (!intent) return invalid("resource_missing", "No such payment_intent");
      if (intent.status !== "succeeded") {
        return invalid("charge_not_refundable", "This PaymentIntent has no successful charge");
      }
      const amount = Number(params.amount ?? intent.amount_received - intent.refunded);
      if (amount > intent.amount_received - intent.refunded) {
        return invalid("amount_too_large", "Refund amount is greater than unrefunded amount");
      }
      intent.refunded += amount;
      return {
        status: 200,
        body: {
          id: id("re"),
          object: "refund",
          amount,
          currency: intent.currency,
          payment_intent: intent.id,
          status: "succeeded",
          metadata,
        },
      };
    }
    return invalid("unknown_endpoint", `Unrecognized request URL (${method}: ${path})`, 404);
  }
}

/**
 * Sends a webhook to `POST /webhooks/stripe` as Stripe does: the exact payload, with its
 * signature (another one, or none, to forge it).
 */
export const deliverWebhook = (
  webhook: { payload: string; signature?: string | undefined },
  signature: string | undefined = webhook.signature,
) =>
  call("POST", "/webhooks/stripe", {
    rawBody: webhook.payload,
    headers: {
      "content-type": "application/json; charset=utf-8",
      ...(signature === undefined ? {} : { "stripe-signature": signature }),
    },
  });

/**
 * A fake Stripe for one test file, with the functions configured to use it (STRIPE_SECRET_KEY,
 * STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE). Call at the top level of the file.
 */
export function useFakeStripe(): FakeStripe {
  const stripe = new FakeStripe();
  beforeAll(async () => {
    await stripe.start();
    Object.assign(process.env, {
      STRIPE_SECRET_KEY: FAKE_STRIPE_KEY,
      STRIPE_WEBHOOK_SECRET: FAKE_WEBHOOK_SECRET,
      STRIPE_API_BASE: stripe.url,
    });
    resetCardPayments();
  });
  afterAll(async () => {
    delete process.env.STRIPE_SECRET_KEY;
    delete process.env.STRIPE_WEBHOOK_SECRET;
    delete process.env.STRIPE_API_BASE;
    resetCardPayments();
    await stripe.close();
  });
  return stripe;
}
