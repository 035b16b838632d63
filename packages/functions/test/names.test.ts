/**
 * Names of users, products and carriers refuse control characters (C0, C1, DEL), bidirectional
 * overrides and zero-width characters: a CR/LF in a product name reached an email subject, and an
 * override makes "Ann<RLO>gpj.exe" read as "Annexe.jpg". The refusal is 400 VALIDATION_FAILED
 * naming the field, and nothing is written.
 */
import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import { tablesSnapshot, useDatabase } from "@flashstock/testing/database";
import {
  cartWith,
  checkout,
  createTestProduct,
  createUser,
  PASSWORD,
  type TestUser,
} from "@flashstock/testing/fixtures";
import { beforeAll, describe, expect, it } from "vitest";

const t = useDatabase();

const badNames: [string, string][] = [
  ["a CR/LF", "Shoe\r\nBcc: victim@example.com"],
  ["a tab", "Shoe\tX"],
  ["NUL", "Shoe\u0000"],
  ["DEL", "Shoe\u007F"],
  ["a C1 control (NEL)", "Shoe\u0085"],
  ["a right-to-left override", "Ann\u202Egpj.exe"],
  ["a bidirectional isolate", "Ann\u2067x\u2069"],
  ["a zero-width space", "Sh\u200Boe"],
  ["a byte order mark", "Sh\uFEFFoe"],
];

let admin: TestUser;
let customer: TestUser;
let orderToShip: string;
let sku: string;
beforeAll(async () => {
  admin = await createUser(t.db, "admin");
  customer = await createUser(t.db);
  sku = (await createTestProduct(t.db, { available: 100 })).sku;
  const placed = await checkout(customer, await cartWith(customer, { [sku]: 1 }));
  orderToShip = placed.body.id;
  await t.db.query("UPDATE orders SET status = 'confirmed' WHERE id = $1", [orderToShip]);
});

/** Each route that takes a name, and the request that sends `name` in it. */
const routes: [string, string, (name: string) => Parameters<typeof call>][] = [
  [
    "POST /auth/register",
    "name",
    (name) => [
      "POST",
      "/auth/register",
      { body: { email: `n-${randomUUID()}@example.com`, password: PASSWORD, name } },
    ],
  ],
  ["PATCH /me", "name", (name) => ["PATCH", "/me", { token: customer.token, body: { name } }]],
  [
    "POST /staff",
    "name",
    (name) => [
      "POST",
      "/staff",
      {
        token: admin.token,
        body: { email: `s-${randomUUID()}@example.com`, password: PASSWORD, name, role: "ops" },
      },
    ],
  ],
  [
    "POST /products",
    "name",
    (name) => [
      "POST",
      "/products",
      {
        token: admin.token,
        body: {
          sku: `N-${randomUUID().slice(0, 8)}`,
          name,
          priceCents: 100,
          available: 1,
          minQuantity: 0,
        },
      },
    ],
  ],
  [
    "PATCH /products/{sku}",
    "name",
    (name) => ["PATCH", `/products/${sku}`, { token: admin.token, body: { name } }],
  ],
  [
    "POST /orders/{id}/ship",
    "carrier",
    (name) => [
      "POST",
      `/orders/${orderToShip}/ship`,
      { token: admin.token, body: { carrier: name, trackingNumber: "123" } },
    ],
  ],
];

describe.each(routes)("%s", (_, field, request) => {
  it.each(badNames)(
    `refuses a ${field} holding %s with 400 VALIDATION_FAILED naming it, writing nothing`,
    async (_, name) => {
      // Prepare
      const before = await tablesSnapshot(t.db);

      // Act
      const r = await call(...request(name));

      // Assess
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({
        code: "VALIDATION_FAILED",
        details: { in: "body", issues: [{ path: field }] },
      });
      expect(await tablesSnapshot(t.db)).toEqual(before);
    },
  );

  it(`accepts a ${field} in any script, with combining marks and emoji`, async () => {
    // Act
    const r = await call(...request("Zoë Café 👩‍👩‍👧‍👦 שלום 𝔘"));

    // Assess
    expect(r.status).toBeLessThan(300);
  });
});
