import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { BusEntry } from "@flashstock/functions/events/routing";
import type { EventBridgeEvent } from "aws-lambda";
import type { BusRule } from "../../../../infra/topology.ts";

export type BusEvent = EventBridgeEvent<string, unknown>;

export interface LocalBusRule {
  name: string;
  pattern: BusRule["pattern"];
  target: (event: BusEvent) => Promise<void>;
}

export interface LocalBusOptions {
  rules?: readonly LocalBusRule[];
  /** Retries after a failed first attempt. EventBridge keeps trying for a day; a few do locally. */
  retries?: number;
  /** The delay before the first retry; it doubles with each one. */
  retryDelayMs?: number;
}

/** EventBridge stamps events to the second. */
export const eventTime = (date = new Date()) => date.toISOString().replace(/\.\d+Z$/, "Z");

/** EventBridge's matching for the keys our rules use: each listed key must match a listed value. */
const matches = (pattern: BusRule["pattern"], entry: BusEntry) =>
  (!pattern.source || pattern.source.includes(entry.Source)) &&
  (!pattern["detail-type"] || pattern["detail-type"].includes(entry.DetailType));

/**
 * An in-process EventBridge bus: each entry goes to every rule it matches, asynchronously and at
 * least once. A target that throws is retried with backoff, then logged; the publisher never
 * hears of it, as PutEvents does not wait for targets.
 */
export class LocalBus {
  private readonly rules: readonly LocalBusRule[];
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly deliveries = new Set<Promise<void>>();

  constructor(options: LocalBusOptions = {}) {
    this.rules = options.rules ?? [];
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 200;
  }

  put(entries: readonly BusEntry[]): void {
    for (const entry of entries) {
      // One id and time per event, whatever the number of rules, as EventBridge does.
      const id = randomUUID();
      const time = eventTime();
      for (const rule of this.rules) {
        if (!matches(rule.pattern, entry)) continue;
        const event: BusEvent = {
          version: "0",
          id,
          "detail-type": entry.DetailType,
          source: entry.Source,
          account: "000000000000",
          time,
          region: "local",
          resources: [],
          detail: JSON.parse(entry.Detail),
        };
        const delivery = this.deliver(rule, event);
        this.deliveries.add(delivery);
        void delivery.then(() => this.deliveries.delete(delivery));
      }
    }
  }

  /** Deliveries started and not yet delivered or given up on, retries included. */
  get pending(): number {
    return this.deliveries.size;
  }

  /** Resolves once nothing is pending, including deliveries that targets' publishes started. */
  async idle(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.all(this.deliveries);
  }

  private async deliver(rule: LocalBusRule, event: BusEvent): Promise<void> {
    // Off the publisher's call stack: a target runs later, never inside put().
    await new Promise((resolve) => setImmediate(resolve));
    for (let attempt = 1; ; attempt++) {
      try {
        await rule.target(event);
        return;
      } catch (err) {
        const what = `[local bus] rule ${rule.name}, ${event["detail-type"]} ${event.id}, attempt ${attempt}`;
        if (attempt > this.retries) {
          console.error(`${what}: failed, giving up`, err);
          return;
        }
        const delayMs = this.retryDelayMs * 2 ** (attempt - 1);
        console.error(`${what}: failed, retrying in ${delayMs} ms: ${String(err)}`);
        await sleep(delayMs);
      }
    }
  }
}
