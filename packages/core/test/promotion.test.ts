/**
 * Promotions in the domain: the discount rule (promotion_discount.sql), and codes created, read
 * and listed against the real Postgres. Redemption at checkout: packages/functions/test/promotions.test.ts.
 */
import {
  CreatePromotionInput,
  createPromotion,
  getPromotion,
  listPromotions,
} from "@flashstock/core/promotion/index";
import { useDatabase } from "@flashstock/testing/database";
import { describe, expect, it } from "vitest";

const t = useDatabase();

describe("the discount rule", () => {
  it.each([
    ["percent", 10, 1_999, 200],
    ["percent", 10, 1_994, 199],
    ["percent", 15, 1_010, 152],
    ["percent", 100, 4_321, 4_321],
    ["percent", 50, 1, 1],
    ["percent", 1, 49, 0],
    ["percent", 1, 50, 1],
    ["fixed", 500, 1_999, 500],
    ["fixed", 5_000, 1_999, 1_999],
    ["fixed", 500, 0, 0],
  ] as const)(
    "%s %i of %i is %i (half up, never above the subtotal)",
    async (kind, value, subtotal, expected) => {
      const { rows } = await t.db.query<{ discount: number }>(
        "SELECT promotion_discount($1, $2, $3)::int AS discount",
        [kind, value, subtotal],
      );
      expect(rows[0]?.discount).toBe(expected);
    },
  );
});

describe("promotions", () => {
  it("stores a code in upper case, with its defaults, and reads it back case-insensitively by its stored form", async () => {
    // Prepare
    const input = CreatePromotionInput.parse({ code: " flash-10 ", kind: "percent", value: 10 });

    // Act
    const created = await createPromotion(t.db, input);

    // Assess
    expect(created).toEqual({
      code: "FLASH-10",
      kind: "percent",
      value: 10,
      currency: null,
      minSubtotalCents: 0,
      startsAt: null,
      endsAt: null,
      usageLimit: null,
      perCustomerLimit: null,
      used: 0,
      active: true,
    });
    expect(await getPromotion(t.db, "FLASH-10")).toEqual(created);
  });

  it("refuses a second promotion with the same code in another case: PROMOTION_EXISTS", async () => {
    // Prepare
    await createPromotion(
      t.db,
      CreatePromotionInput.parse({ code: "TWICE", kind: "percent", value: 5 }),
    );

    // Act / Assess
    await expect(
      createPromotion(
        t.db,
        CreatePromotionInput.parse({ code: "twice", kind: "percent", value: 7 }),
      ),
    ).rejects.toMatchObject({ code: "PROMOTION_EXISTS", details: { code: "TWICE" } });
  });

  it.each([
    ["a percent above 100", { code: "BAD1", kind: "percent", value: 101 }],
    ["a fixed amount without currency", { code: "BAD2", kind: "fixed", value: 500 }],
    ["a code too short", { code: "AB", kind: "percent", value: 5 }],
    ["a code with a space", { code: "A B C", kind: "percent", value: 5 }],
    [
      "an end before the start",
      {
        code: "BAD3",
        kind: "percent",
        value: 5,
        startsAt: "2030-01-02T00:00:00Z",
        endsAt: "2030-01-01T00:00:00Z",
      },
    ],
  ])("refuses %s", (_, body) => {
    expect(CreatePromotionInput.safeParse(body).success).toBe(false);
  });

  it("lists codes a page at a time, in code order", async () => {
    // Prepare
    for (const code of ["PAGE-A", "PAGE-B", "PAGE-C"]) {
      await createPromotion(
        t.db,
        CreatePromotionInput.parse({ code, kind: "fixed", value: 100, currency: "EUR" }),
      );
    }

    // Act
    const first = await listPromotions(t.db, { limit: 2 });
    const rest = await listPromotions(t.db, { limit: 100, cursor: first.nextCursor ?? undefined });

    // Assess
    const codes = [...first.items, ...rest.items].map((p) => p.code);
    expect(codes.filter((c) => c.startsWith("PAGE-"))).toEqual(["PAGE-A", "PAGE-B", "PAGE-C"]);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
