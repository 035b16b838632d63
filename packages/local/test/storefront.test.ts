/**
 * The storefront in a real browser (Chromium from @sparticuz/chromium, driven by playwright-core),
 * served as `npm start` serves it and calling the local runtime's API across origins, as it does
 * in the cloud: what a shopper sees at each step, and what the database then holds.
 */

import { confirmOrder } from "@flashstock/core/order/index";
import { call } from "@flashstock/testing/api";
import { useDatabase } from "@flashstock/testing/database";
import { useEventSystem } from "@flashstock/testing/events";
import { cartWith, createTestProduct, createUser } from "@flashstock/testing/fixtures";
import { describe, expect, it } from "vitest";
import {
  fillAddress,
  orderOf,
  register,
  seriousAxeViolations,
  signInAs,
  useStorefront,
} from "./storefront-harness.ts";

const t = useDatabase();
const shop = useStorefront();
const events = useEventSystem();

describe("the storefront", () => {
  it("lets a newcomer register, buy with cash on delivery and land on the order page", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { name: "Storefront Mug", available: 3 });
    const email = `newcomer-${Date.now()}@example.com`;
    const page = await shop.newPage();

    // Act
    await register(shop, page, "Nina Newcomer", email);
    await page.goto(`${shop.web}/products/${product.sku}`);
    await page.getByRole("heading", { name: "Storefront Mug" }).waitFor();
    const stockLine = await page.getByText("Only 3 left").textContent();
    await page.getByRole("button", { name: "Add to cart" }).click();
    await page.waitForURL(`${shop.web}/cart`);
    await page.getByText("Total €10.00", { exact: true }).waitFor();
    await fillAddress(page);
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    const status = await page.getByText(/^Status:/).textContent();

    // Assess
    expect(stockLine).toBe("Only 3 left");
    expect(status).toBe("Status: placed");
    const orderId = page.url().split("/").at(-1);
    const { rows } = await t.db.query(
      `SELECT o.status, o.payment_method, u.email FROM orders o JOIN users u ON u.id = o.customer_id
        WHERE o.id = $1`,
      [orderId],
    );
    expect(rows).toEqual([{ status: "placed", payment_method: "cash_on_delivery", email }]);
    await page.close();
  });

  it("sells the last unit to one of two shoppers ordering it at the same moment; the other reads that it sold out", async () => {
    // Prepare: both have the last unit in their cart and the form filled
    const product = await createTestProduct(t.db, { name: "Last Lamp", available: 1 });
    const pages = await Promise.all([shop.newPage(), shop.newPage()]);
    for (const [i, page] of pages.entries()) {
      await register(shop, page, `Racer ${i}`, `racer-${i}-${Date.now()}@example.com`);
      await page.goto(`${shop.web}/products/${product.sku}`);
      await page.getByRole("button", { name: "Add to cart" }).click();
      await page.waitForURL(`${shop.web}/cart`);
      await fillAddress(page);
    }

    // Act
    await Promise.all(pages.map((p) => p.getByRole("button", { name: "Place order" }).click()));
    const outcomes = await Promise.all(
      pages.map((p) =>
        Promise.race([
          p.waitForURL(/\/orders\/[0-9a-f-]{36}$/).then(() => "ordered"),
          p
            .getByRole("alert")
            .filter({ hasText: "Sold out: Last Lamp" })
            .waitFor()
            .then(() => "sold out"),
        ]),
      ),
    );

    // Assess
    expect(outcomes.sort()).toEqual(["ordered", "sold out"]);
    const { rows } = await t.db.query("SELECT available FROM stock WHERE sku = $1", [product.sku]);
    expect(rows).toEqual([{ available: 0 }]);
    await Promise.all(pages.map((p) => p.close()));
  });

  it("lets ops release a held duplicate beside the order it repeats, and ship an order whose page then shows the customer its tracking link", async () => {
    // Prepare: a confirmed order, and a repeat of another order held as a duplicate
    const product = await createTestProduct(t.db, { name: "Ops Kettle", available: 10 });
    const customer = await createUser(t.db, "customer", "Cleo Customer");
    const ops = await createUser(t.db, "ops", "Otto Ops");
    const toShip = await orderOf(customer, product.sku);
    await confirmOrder(t.db, toShip.id);
    const first = await orderOf(customer, product.sku, "7 Twice Street");
    const held = await orderOf(customer, product.sku, "7 Twice Street");
    expect(held.status).toBe("on_hold");
    const page = await shop.newPage();

    // Act: ops, on the desk
    await signInAs(shop, page, ops);
    await page.getByRole("navigation").getByRole("link", { name: "Ops desk" }).click();
    await page
      .getByRole("region", { name: "Held duplicates" })
      .getByRole("link", { name: `Order ${held.id.slice(0, 8)}` })
      .click();
    const repeats = await page.getByRole("article", { name: "The order it repeats" }).textContent();
    await page.getByRole("button", { name: "Release" }).click();
    const released = await page.getByRole("status").textContent();
    await page.goto(`${shop.web}/ops/orders/${toShip.id}`);
    await page.getByLabel("Carrier").fill("DHL");
    await page.getByLabel("Tracking number").fill("00340434161094042557");
    await page.getByLabel("Tracking link").fill("https://www.dhl.com/track?n=00340434161094042557");
    await page.getByRole("button", { name: "Ship" }).click();
    const shipped = await page.getByRole("status").textContent();
    // Act: the customer, on the order page the shipping email links to
    await page.getByRole("button", { name: "Sign out" }).click();
    await signInAs(shop, page, customer);
    await page.goto(`${shop.web}/orders/${toShip.id}`);
    const tracking = await page
      .getByRole("link", { name: "Track the parcel" })
      .getAttribute("href");

    // Assess
    expect(repeats).toContain(`Repeats order ${first.id.slice(0, 8)}`);
    expect(released).toBe(`Order ${held.id.slice(0, 8)} is now placed.`);
    expect(shipped).toBe(`Order ${toShip.id.slice(0, 8)} is now shipped.`);
    expect(tracking).toBe("https://www.dhl.com/track?n=00340434161094042557");
    const { rows } = await t.db.query(
      "SELECT id, status FROM orders WHERE id = ANY($1) ORDER BY id",
      [[held.id, toShip.id]],
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, r.status]))).toEqual({
      [held.id]: "placed",
      [toShip.id]: "shipped",
    });
    await page.close();
  });

  it("lets the stock manager find a low SKU on the dashboard and restock it there; the ledger shows who did it and why", async () => {
    // Prepare
    const product = await createTestProduct(t.db, {
      name: "Dash Kettle",
      available: 2,
      minQuantity: 5,
    });
    const manager = await createUser(t.db, "stock_manager", "Sam Stock");
    const page = await shop.newPage();

    // Act
    await signInAs(shop, page, manager);
    await page.getByRole("navigation").getByRole("link", { name: "Stock", exact: true }).click();
    await page
      .getByRole("table", { name: "Inventory" })
      .getByRole("link", { name: product.sku })
      .click();
    await page.getByLabel("Units (negative to remove)").fill("10");
    await page.getByLabel("Note").fill("Supplier B, pallet 7");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    const saved = await page.getByRole("status").textContent();
    const newest = page.getByRole("table", { name: "Movements" }).locator("tbody tr").first();
    await newest.getByText("+10").waitFor();
    const cells = await newest.locator("td").allTextContents();

    // Assess
    expect(saved).toBe(`${product.sku}: 12 available now.`);
    expect(cells.slice(1)).toEqual(["+10", "restock", manager.email, "Supplier B, pallet 7", "12"]);
    const { rows } = await t.db.query("SELECT available FROM stock WHERE sku = $1", [product.sku]);
    expect(rows).toEqual([{ available: 12 }]);
    await page.close();
  });

  it("lets the stock manager set a SKU's minimum and per-customer limit on its page; the next customer over the limit is refused", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { name: "Limit Lamp", minQuantity: 1 });
    const manager = await createUser(t.db, "stock_manager", "Lia Limits");
    const page = await shop.newPage();
    await signInAs(shop, page, manager);
    await page.goto(`${shop.web}/stock/${product.sku}`);
    await page.getByRole("heading", { name: `Limit Lamp (${product.sku})` }).waitFor();

    // Act
    await page.getByLabel("Minimum (alert below)").fill("4");
    await page.getByLabel("Per-customer limit (empty: none)").fill("1");
    await page.getByRole("button", { name: "Save limits" }).click();
    const saved = await page.getByRole("status").textContent();
    const customer = await createUser(t.db);
    const refused = await call(
      "PUT",
      `/carts/${await cartWith(customer, {})}/items/${product.sku}`,
      {
        token: customer.token,
        body: { quantity: 2 },
      },
    );

    // Assess
    expect(saved).toBe(`${product.sku}: minimum 4, at most 1 per customer.`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("PURCHASE_LIMIT");
    const { rows } = await t.db.query(
      `SELECT s.min_quantity, p.max_per_customer FROM stock s JOIN products p USING (sku)
        WHERE sku = $1`,
      [product.sku],
    );
    expect(rows).toEqual([{ min_quantity: 4, max_per_customer: 1 }]);
    await page.close();
  });

  it.each([
    ["ops", "Rhea Reports", ["date", "orders", "units", "revenue"]],
    ["stock_manager", "Stan Reports", ["date", "orders", "units"]],
  ] as const)(
    "shows %s the sales per day with a chart, each table downloadable as CSV",
    async (role, name, columns) => {
      // Prepare: an order today
      const product = await createTestProduct(t.db, { name: "Report Mug", priceCents: 1250 });
      await orderOf(await createUser(t.db), product.sku);
      const viewer = await createUser(t.db, role, name);
      const page = await shop.newPage();

      // Act
      await signInAs(shop, page, viewer);
      await page
        .getByRole("navigation")
        .getByRole("link", { name: "Reports", exact: true })
        .click();
      const days = page.getByRole("table", { name: "Days" });
      await days.locator("tbody tr").last().waitFor();
      const header = await days.locator("thead th").allTextContents();
      const today = await days.locator("tbody tr").last().locator("td").allTextContents();
      const chart = page.getByRole("img", { name: "Units sold per day" });
      const csv = await page
        .getByRole("region", { name: "Sales per day" })
        .getByRole("link", { name: "Download CSV" })
        .getAttribute("href");

      // Assess
      expect(header).toEqual(columns);
      expect(today[0]).toBe(new Date().toISOString().slice(0, 10));
      expect(Number(today[1])).toBeGreaterThanOrEqual(1);
      expect(await chart.count()).toBe(1);
      const text = decodeURIComponent((csv ?? "").replace(/^data:text\/csv;charset=utf-8,/, ""));
      expect(text.split("\r\n")[0]).toBe(columns.join(","));
      expect(text.split("\r\n")).toHaveLength(31);
      await page.close();
    },
  );

  it("has no serious or critical accessibility violations (axe-core) on the main pages", async () => {
    // Prepare: a product, an order, and staff to see every page
    const product = await createTestProduct(t.db, {
      name: "Axe Lamp",
      available: 3,
      minQuantity: 5,
    });
    const admin = await createUser(t.db, "admin", "Ada Admin");
    const customer = await createUser(t.db);
    const order = await orderOf(customer, product.sku);
    const page = await shop.newPage();
    await signInAs(shop, page, admin);
    const pages = [
      ["catalog", "/", "Axe Lamp"],
      ["product", `/products/${product.sku}`, "Axe Lamp"],
      ["cart", "/cart", "Cart"],
      ["stock dashboard", "/stock", "Below minimum"],
      ["stock item", `/stock/${product.sku}`, "Ledger"],
      ["ops desk", "/ops", "Held duplicates"],
      ["ops order", `/ops/orders/${order.id}`, "Status:"],
      ["reports", "/reports", "Top products"],
      ["order", `/orders/${order.id}`, "Status:"],
    ];

    // Act
    const found: Record<string, string[]> = {};
    for (const [name, path, ready] of pages as [string, string, string][]) {
      await page.goto(`${shop.web}${path}`);
      await page.getByText(ready, { exact: false }).first().waitFor();
      found[name] = await seriousAxeViolations(page, name);
    }

    // Assess
    expect(found).toEqual(Object.fromEntries(pages.map(([name]) => [name, []])));
    await page.close();
  });

  it("lets a customer who forgot the password ask for a link, open it from the email, and sign in with a new one", async () => {
    // Prepare
    const customer = await createUser(t.db, "customer", "Fay Forgetful");
    const page = await shop.newPage();

    // Act: ask for the link
    await page.goto(`${shop.web}/account`);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    // The reset page loads on first use, and the sign-in page has an Email field too: wait for it.
    await page.getByRole("heading", { name: "Reset your password" }).waitFor();
    await page.getByLabel("Email").fill(customer.email);
    await page.getByRole("button", { name: "Email me a link" }).click();
    const sent = await page.getByRole("status").textContent();
    const mail = (await events.inbox(customer.email)).find(
      (m) => m.subject === "Reset your password",
    );
    const link = /http:\/\/\S+\/reset-password\?token=[\w-]+/.exec(mail?.body.text ?? "")?.[0];
    // Act: open it (on this UI's origin), try a weak password, then a strong one
    const token = new URL(link ?? "http://x/").searchParams.get("token");
    await page.goto(`${shop.web}/reset-password?token=${token}`);
    await page.getByLabel("New password").fill("password1");
    await page.getByRole("button", { name: "Set password and sign in" }).click();
    const refused = await page.getByRole("alert").textContent();
    await page.getByLabel("New password").fill("quiet meadow anchor");
    await page.getByRole("button", { name: "Set password and sign in" }).click();
    await page.getByRole("navigation").getByText("Fay Forgetful").waitFor();

    // Assess
    expect(sent).toBe("If an account has this email, a link to reset its password is on its way");
    expect(link).toMatch(/\/reset-password\?token=/);
    expect(refused).toContain("too easy to guess");
    const login = await fetch(`${shop.api}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: customer.email, password: "quiet meadow anchor" }),
    });
    expect(login.status).toBe(200);
    await page.close();
  });

  it("keeps a shopper signed in when two tabs load at once: their refreshes take turns, so neither is taken for a stolen token", async () => {
    // Prepare: signed in in one tab
    const shopper = await shop.newContext();
    const [first, second] = [await shopper.newPage(), await shopper.newPage()];
    await register(shop, first, "Tabitha Tabs", `tabs-${Date.now()}@example.com`);

    // Act: both tabs load the shop at the same moment, each renewing its access token; each
    // refresh is held back a moment on its way out, so that both tabs have read the stored token
    // before either answer comes back
    await shopper.route("**/auth/refresh", async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 750));
      await route.continue();
    });
    await Promise.all([first.reload(), second.goto(`${shop.web}/`)]);
    await Promise.all(
      [first, second].map((tab) => tab.getByRole("navigation").getByText("Tabitha Tabs").waitFor()),
    );
    await first.reload();
    await first.getByRole("navigation").getByText("Tabitha Tabs").waitFor();

    // Assess: the login lives on, rotated three times
    const { rows } = await t.db.query(
      `SELECT l.revoked_reason FROM logins l JOIN users u ON u.id = l.user_id
        WHERE u.name = 'Tabitha Tabs'`,
    );
    expect(rows).toEqual([{ revoked_reason: null }]);
    await shopper.close();
  });

  it("renews the access token before it expires, so a shopper who lingers is still signed in", async () => {
    // Prepare: access tokens that live 3 seconds
    process.env.ACCESS_TOKEN_TTL_SECONDS = "3";
    const page = await shop.newPage();
    try {
      await register(shop, page, "Lena Linger", `linger-${Date.now()}@example.com`);

      // Act: wait past the first token's life, then use the API without a reload
      await page.waitForTimeout(4_500);
      await page.getByRole("navigation").getByRole("link", { name: "My orders" }).click();
      await page.getByRole("heading", { name: "My orders" }).waitFor();
      await page.getByText("No orders yet").waitFor();

      // Assess
      expect(await page.getByRole("alert").count()).toBe(0);
    } finally {
      delete process.env.ACCESS_TOKEN_TTL_SECONDS;
      await page.close();
    }
  });

  it("tells a newcomer why a password is too weak, in zxcvbn's words, and creates nothing", async () => {
    // Prepare
    const email = `weak-${Date.now()}@example.com`;
    const page = await shop.newPage();
    await page.goto(`${shop.web}/account`);
    await page.getByRole("button", { name: "New here? Create an account" }).click();

    // Act
    await page.getByLabel("Name").fill("Walter Weak");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("password1");
    await page.getByRole("button", { name: "Create account" }).click();
    const refused = await page.getByRole("alert").textContent();

    // Assess
    expect(refused).toContain("too easy to guess");
    expect(refused).toContain("This is a commonly used password.");
    const { rows } = await t.db.query("SELECT 1 FROM users WHERE email = $1", [email]);
    expect(rows).toEqual([]);
    await page.close();
  });

  it("keeps a shopper signed in across a reload, with the refresh token", async () => {
    // Prepare
    const page = await shop.newPage();
    await register(shop, page, "Rita Reload", `reload-${Date.now()}@example.com`);

    // Act
    await page.reload();

    // Assess
    await page.getByRole("navigation").getByText("Rita Reload").waitFor();
    await page.close();
  });
});
