/**
 * The event log (every bus event as one log line) carries ids, types, statuses, SKUs and amounts,
 * never a shipping address, an email, a note or a token.
 */

import { describe, expect, it } from "vitest";
import { auditRecord } from "../src/bus/event-log.ts";

describe("the event log's record of an event", () => {
  it("keeps the order's ids, status, lines and amounts, and leaves out its address, names and notes", () => {
    // Prepare
    const event = {
      id: "00000000-0000-4000-8000-000000000001",
      type: "order.placed",
      occurredAt: "2026-12-02T10:00:00.000Z",
      data: {
        orderId: "7d1f6a52-3c2e-4b8e-9a3f-2f6c1d8e4b90",
        customerId: "0b6f3c1e-8d2a-4f6b-9c7e-5a4d3b2c1e0f",
        lines: [{ sku: "TEE-BLK-M", name: "Black T-shirt", quantity: 2, unitPriceCents: 1999 }],
        totalCents: 3998,
        currency: "EUR",
        shippingAddress: { name: "Ann Example", line1: "1 Main St", city: "Berlin" },
        email: "ann@example.com",
        note: "call before delivery",
        fingerprint: "ab12",
        paymentMethod: "cash_on_delivery",
      },
    };

    // Act
    const record = auditRecord(event as never);

    // Assess
    expect(record).toEqual({
      id: event.id,
      type: "order.placed",
      occurredAt: event.occurredAt,
      data: {
        orderId: event.data.orderId,
        customerId: event.data.customerId,
        lines: [{ sku: "TEE-BLK-M", quantity: 2 }],
        totalCents: 3998,
        currency: "EUR",
        fingerprint: "ab12",
        paymentMethod: "cash_on_delivery",
      },
    });
    const text = JSON.stringify(record);
    for (const secret of ["Ann Example", "1 Main St", "ann@example.com", "call before"]) {
      expect(text).not.toContain(secret);
    }
  });
});
