/**
 * Paying in the storefront, in a real browser: a limited coupon, store credit with its balance
 * shown, a card through Stripe Elements, and changing one's mind. Stripe.js cannot load here (no
 * network to js.stripe.com), so the browser gets a small stand-in for it at Stripe's own address;
 * the API talks to the fake Stripe server through the real SDK, and the webhook is signed as
 * Stripe signs it.
 */
import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import { expectLedgerConsistent, useDatabase } from "@flashstock/testing/database";
import { deliverWebhook, useFakeStripe } from "@flashstock/testing/fake-stripe";
import { createTestProduct, createUser, type TestUser } from "@flashstock/testing/fixtures";
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { fillAddress, orderOf, signInAs, useStorefront } from "./storefront-harness.ts";

const t = useDatabase();
const stripe = useFakeStripe();
const shop = useStorefront({ stripePublishableKey: "pk_test_flashstock_storefront" });

afterEach(async () => {
  await expectLedgerConsistent(t.db);
});

/**
 * Stripe.js as far as the storefront uses it: a Payment Element that mounts, and confirmPayment,
 * which records the client secret it was given (the real one sends the card to Stripe with it).
 */
const stripeJsStandIn = `
window.Stripe = function (key) {
  return {
    elements: function (options) {
      return {
        clientSecret: options.clientSecret,
        create: function () {
          return {
            mount: function (el) {
              el.innerHTML = '<label>Card number <input name="card" value="4242 4242 4242 4242"></label>';
            },
          };
        },
      };
    },
    confirmPayment: function (options) {
      window.confirmedWith = { key: key, clientSecret: options.elements.clientSecret };
      return Promise.resolve({ paymentIntent: { status: "succeeded" } });
    },
  };
};`;

async function adminCreatesCode(fields: Record<string, unknown>): Promise<string> {
  const admin = await createUser(t.db, "admin");
  const code = `FLASH${randomUUID().slice(0, 6).toUpperCase()}`;
  const r = await call("POST", "/promotions", {
    token: admin.token,
    body: { code, kind: "percent", value: 10, ...fields },
  });
  expect(r.status).toBe(201);
  return code;
}

async function topUp(customer: TestUser, amountCents: number): Promise<void> {
  const ops = await createUser(t.db, "ops");
  const r = await call("POST", `/customers/${customer.id}/wallet/transactions`, {
    token: ops.token,
    body: { amountCents, reason: "top_up" },
  });
  expect(r.status).toBe(201);
}

/** Signs in, puts one unit of the product in the cart and opens the cart with the address filled. */
async function cartOf(customer: TestUser, sku: string, name: string): Promise<Page> {
  const page = await shop.newPage();
  await signInAs(shop, page, customer);
  await page.goto(`${shop.web}/products/${sku}`);
  await page.getByRole("heading", { name }).waitFor();
  await page.getByRole("button", { name: "Add to cart" }).click();
  await page.waitForURL(`${shop.web}/cart`);
  await fillAddress(page);
  return page;
}

describe("paying in the storefront", () => {
  it("lets a customer apply a limited coupon and see the discounted total; the next customer reads that the code is used up", async () => {
    // Prepare: a code for one order only, and two customers with the product in their cart
    const product = await createTestProduct(t.db, { name: "Coupon Kettle", priceCents: 2000 });
    const code = await adminCreatesCode({ usageLimit: 1 });
    const [first, second] = [await createUser(t.db), await createUser(t.db)];
    const page = await cartOf(first, product.sku, "Coupon Kettle");

    // Act
    await page.getByLabel("Coupon code").fill(code.toLowerCase());
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText("Total €18.00").waitFor();
    const discount = await page.getByText(`Discount (${code})`).textContent();
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    await page.getByText("Total €18.00").waitFor();
    const late = await cartOf(second, product.sku, "Coupon Kettle");
    await late.getByLabel("Coupon code").fill(code);
    await late.getByRole("button", { name: "Apply" }).click();
    const refusal = await late.getByRole("alert").textContent();
    const lateTotal = await late.getByText(/^Total /).textContent();

    // Assess
    expect(discount?.replace(/\s+/g, " ").trim()).toBe(`Discount (${code}) −€2.00 Remove coupon`);
    expect(refusal).toBe("This coupon is used up: order without it, or try another code");
    expect(lateTotal?.trim()).toBe("Total €20.00");
    const { rows } = await t.db.query(
      `SELECT o.total_cents::int, o.discount_cents::int, p.used
         FROM orders o JOIN promotions p ON p.code = o.promotion_code
        WHERE o.promotion_code = $1`,
      [code],
    );
    expect(rows).toEqual([{ total_cents: 1800, discount_cents: 200, used: 1 }]);
    await page.close();
    await late.close();
  });

  it("shows a customer's store credit balance at checkout and pays with it", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { name: "Credit Cup", priceCents: 1250 });
    const customer = await createUser(t.db);
    await topUp(customer, 5000);
    const page = await cartOf(customer, product.sku, "Credit Cup");

    // Act
    await page.getByLabel("Store credit (balance €50.00)").check();
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    const payment = await page.getByText(/^Payment:/).textContent();

    // Assess
    expect(payment).toBe("Payment: store credit, paid");
    const { rows } = await t.db.query(
      "SELECT balance_cents::int FROM wallets WHERE customer_id = $1",
      [customer.id],
    );
    expect(rows).toEqual([{ balance_cents: 3750 }]);
    await page.close();
  });

  it("lets a customer pay by card in Stripe's Payment Element; the order is placed once Stripe's webhook says paid", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { name: "Card Clock", priceCents: 3000 });
    const customer = await createUser(t.db);
    const page = await cartOf(customer, product.sku, "Card Clock");
    await page.route("https://js.stripe.com/**", (route) =>
      route.fulfill({ contentType: "text/javascript", body: stripeJsStandIn }),
    );

    // Act
    await page.getByRole("radio", { name: "Card" }).check();
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    const orderId = page.url().split("/").at(-1) as string;
    await page.getByText("Status: awaiting_payment").waitFor();
    await page.getByLabel("Card number").waitFor();
    await page.getByRole("button", { name: "Pay", exact: true }).click();
    await page.getByText("waiting for Stripe to confirm").waitFor();
    const intent = [...stripe.intents.values()].find((i) => i.metadata.orderId === orderId);
    if (!intent) throw new Error("checkout created no PaymentIntent for the order");
    expect((await deliverWebhook(stripe.pay(intent.id))).status).toBe(200);
    await page.getByText("Status: placed").waitFor();

    // Assess
    const confirmed = await page.evaluate(
      () => (globalThis as { confirmedWith?: unknown }).confirmedWith,
    );
    expect(confirmed).toEqual({
      key: "pk_test_flashstock_storefront",
      clientSecret: intent.client_secret,
    });
    expect(await page.getByText(/^Payment:/).textContent()).toBe("Payment: card, paid");
    await page.close();
  });

  it("lets a customer cancel an order from its page while it has not shipped; its unit goes back on sale", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { name: "Regret Rug", available: 1 });
    const customer = await createUser(t.db);
    const order = await orderOf(customer, product.sku);
    const page = await shop.newPage();
    await signInAs(shop, page, customer);
    await page.goto(`${shop.web}/orders/${order.id}`);

    // Act
    await page.getByRole("button", { name: "Cancel order" }).click();
    await page.getByRole("button", { name: "Yes, cancel the order" }).click();
    await page.getByText("Status: cancelled").waitFor();
    const buttons = await page.getByRole("button", { name: "Cancel order" }).count();

    // Assess
    expect(buttons).toBe(0);
    const { rows } = await t.db.query("SELECT available FROM stock WHERE sku = $1", [product.sku]);
    expect(rows).toEqual([{ available: 1 }]);
    await page.close();
  });
});
