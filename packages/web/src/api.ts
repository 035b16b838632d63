/**
 * The API, reached only through the typed client. Its URL is read from /config.json when the app
 * starts, so one build serves every stage.
 */
import { createFlashstockClient, type FlashstockClient } from "@flashstock/client/index";
import { session } from "./session.ts";

export interface WebConfig {
  apiUrl: string;
  /** Present when the API takes cards: the storefront then offers them, through Stripe Elements. */
  stripePublishableKey?: string;
}

let client: FlashstockClient | undefined;
let config: WebConfig | undefined;

export async function startApi(): Promise<void> {
  config = (await (await fetch("/config.json")).json()) as WebConfig;
  client = createFlashstockClient({ baseUrl: config.apiUrl, token: () => session.token });
}

export function webConfig(): WebConfig {
  if (!config) throw new Error("The API is not configured yet");
  return config;
}

export function api(): FlashstockClient {
  if (!client) throw new Error("The API is not configured yet");
  return client;
}

interface ShortLine {
  sku: string;
  requested: number;
  available: number;
}

/** Refusals whose API message is written for developers: what a shopper reads instead. */
const shopperMessages: Record<string, string> = {
  NOT_A_VERIFIED_BUYER: "Only customers who received this product can review it",
  REVIEW_EXISTS: "You have already reviewed this product",
  PROMOTION_EXHAUSTED: "This coupon is used up: order without it, or try another code",
  PROMOTION_ALREADY_USED: "You have already used this coupon as often as it allows",
};

/** The message to show for an API error answer, in a shopper's words where the code is theirs. */
export function problem(error: unknown, names: Record<string, string> = {}): string {
  const e = (error as { error?: { code?: string; message?: string; details?: unknown } })?.error;
  if (e?.code === "INSUFFICIENT_STOCK") {
    const details = e.details as { lines?: ShortLine[] } & Partial<ShortLine>;
    const lines = details.lines ?? (details.sku ? [details as ShortLine] : []);
    return lines
      .map((l) => {
        const name = names[l.sku] ?? l.sku;
        return l.available === 0 ? `Sold out: ${name}` : `Only ${l.available} of ${name} left`;
      })
      .join(". ");
  }
  if (e?.code === "WEAK_PASSWORD") {
    // zxcvbn's reasons (its warning, then its suggestions) say what would make it stronger.
    const why = (e.details ?? {}) as { warning?: string | null; suggestions?: string[] };
    return [e.message, why.warning, ...(why.suggestions ?? [])]
      .filter((part): part is string => Boolean(part))
      .map((part) => (/[.!?]$/.test(part) ? part : `${part}.`))
      .join(" ");
  }
  const known = e?.code ? shopperMessages[e.code] : undefined;
  return known ?? e?.message ?? "Something went wrong; try again";
}
