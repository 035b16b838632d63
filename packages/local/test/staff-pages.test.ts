/**
 * The staff pages of the web UI in a real browser, as the storefront tests drive it: admins manage
 * staff accounts and coupon codes, ops credit a customer's wallet from an order; what each page
 * shows, what the database then holds, and which roles see which pages at all.
 */
import { randomUUID } from "node:crypto";
import { call } from "@flashstock/testing/api";
import { useDatabase } from "@flashstock/testing/database";
import { cartWith, checkout, createTestProduct, createUser } from "@flashstock/testing/fixtures";
import type { Locator, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { orderOf, seriousAxeViolations, signInAs, useStorefront } from "./storefront-harness.ts";

const t = useDatabase();
const shop = useStorefront();

/** The text of a table row's data cells. */
const cellsOf = (row: Locator) => row.locator("td").allTextContents();

function rowWith(page: Page, table: string, text: string): Locator {
  return page.getByRole("table", { name: table }).getByRole("row").filter({ hasText: text });
}

async function login(email: string, password: string): Promise<number> {
  const r = await fetch(`${shop.api}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  return r.status;
}

describe("the staff pages", () => {
  it("lets an admin create a stock manager (a weak password refused with zxcvbn's reasons), change the role and disable the account; the disabled user can no longer sign in", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin", "Ada Admin");
    const email = `sam-${randomUUID()}@example.com`;
    const password = "orchid tundra velvet lagoon";
    const page = await shop.newPage();

    // Act: create the account, first with a weak password
    await signInAs(shop, page, admin);
    await page.getByRole("navigation").getByRole("link", { name: "Staff" }).click();
    await page.getByRole("heading", { name: "Staff", exact: true }).waitFor();
    const form = page.getByRole("form", { name: "New staff member" });
    await form.getByLabel("Name").fill("Sam Stock");
    await form.getByLabel("Email").fill(email);
    await form.getByLabel("Role").selectOption("stock_manager");
    await form.getByLabel("Password").fill("password1");
    await form.getByRole("button", { name: "Create account" }).click();
    const refused = await page.getByRole("alert").textContent();
    await form.getByLabel("Password").fill(password);
    await form.getByRole("button", { name: "Create account" }).click();
    const row = rowWith(page, "Staff", email);
    await row.waitFor();
    const created = await page.getByRole("status").textContent();
    const createdCells = await cellsOf(row);
    const loginWhileActive = await login(email, password);
    // Act: make them ops
    await row.getByLabel("New role for Sam Stock").selectOption("ops");
    await row.getByRole("button", { name: "Save" }).click();
    await row.getByRole("cell", { name: "Ops", exact: true }).waitFor();
    const promoted = await page.getByRole("status").textContent();
    // Act: disable the account
    await row.getByRole("button", { name: "Disable" }).click();
    await row.getByRole("cell", { name: "No (disabled)" }).waitFor();
    const disabled = await page.getByRole("status").textContent();
    const disabledCells = await cellsOf(row);
    // Act: they try to sign in
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.goto(`${shop.web}/account`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    const signInRefused = await page.getByRole("alert").textContent();

    // Assess
    expect(refused).toContain("too easy to guess");
    expect(refused).toContain("This is a commonly used password.");
    expect(refused).toContain("Add more words that are less common.");
    expect(created).toBe("Sam Stock can now sign in as stock manager.");
    expect(createdCells.slice(0, 4)).toEqual(["Sam Stock", email, "Stock manager", "Yes"]);
    expect(loginWhileActive).toBe(200);
    expect(promoted).toBe("Sam Stock is now ops.");
    expect(disabled).toBe("Sam Stock can no longer sign in.");
    expect(disabledCells.slice(0, 4)).toEqual(["Sam Stock", email, "Ops", "No (disabled)"]);
    expect(signInRefused).toBe("Email or password is wrong");
    expect(page.url()).toBe(`${shop.web}/account`);
    const { rows } = await t.db.query("SELECT name, role, disabled FROM users WHERE email = $1", [
      email,
    ]);
    expect(rows).toEqual([{ name: "Sam Stock", role: "ops", disabled: true }]);
    await page.close();
  });

  it.each([
    ["disable", (row: Locator) => row.getByRole("button", { name: "Disable" }).click()],
    [
      "demote",
      async (row: Locator) => {
        await row.getByLabel("New role for Solo Admin").selectOption("ops");
        await row.getByRole("button", { name: "Save" }).click();
      },
    ],
  ] as const)("refuses to %s the last active admin and says why", async (_, change) => {
    // Prepare: one active admin in the shop
    await t.db.query("UPDATE users SET disabled = true WHERE role = 'admin'");
    const admin = await createUser(t.db, "admin", "Solo Admin");
    const page = await shop.newPage();
    await signInAs(shop, page, admin);
    await page.goto(`${shop.web}/admin/staff`);
    const row = rowWith(page, "Staff", admin.email);
    await row.waitFor();

    // Act
    await change(row);
    const refused = await page.getByRole("alert").textContent();
    const cells = await cellsOf(row);
    const roleShown = await row.getByLabel("New role for Solo Admin").inputValue();

    // Assess
    expect(refused).toBe("Solo Admin: The last active admin cannot be demoted or disabled");
    expect(cells.slice(2, 4)).toEqual(["Admin", "Yes"]);
    expect(roleShown).toBe("admin");
    const { rows } = await t.db.query("SELECT role, disabled FROM users WHERE id = $1", [admin.id]);
    expect(rows).toEqual([{ role: "admin", disabled: false }]);
    await page.close();
  });

  it("lets an admin create a limited promotion, see its usage after a customer uses it, and deactivate it", async () => {
    // Prepare
    const admin = await createUser(t.db, "admin", "Ada Admin");
    const customer = await createUser(t.db, "customer", "Cora Coupon");
    const product = await createTestProduct(t.db, { name: "Coupon Mug", priceCents: 2000 });
    const page = await shop.newPage();

    // Act: create the code
    await signInAs(shop, page, admin);
    await page.getByRole("navigation").getByRole("link", { name: "Promotions" }).click();
    await page.getByRole("heading", { name: "Promotions", exact: true }).waitFor();
    const form = page.getByRole("form", { name: "New promotion" });
    await form.getByLabel("Code").fill("spring-10");
    await form.getByLabel("Kind").selectOption("percent");
    await form.getByLabel("Percent off").fill("10");
    await form.getByLabel("Max uses").fill("5");
    await form.getByLabel("Uses per customer").fill("1");
    await form.getByRole("button", { name: "Create promotion" }).click();
    const row = rowWith(page, "Promotions", "SPRING-10");
    await row.waitFor();
    const created = await page.getByRole("status").textContent();
    const createdCells = await cellsOf(row);
    // Act: a customer uses it, and the admin looks again
    const cartId = await cartWith(customer, { [product.sku]: 1 });
    const applied = await call("PUT", `/carts/${cartId}/promotion`, {
      token: customer.token,
      body: { code: "SPRING-10" },
    });
    const ordered = await checkout(customer, cartId);
    await page.reload();
    await row.getByRole("cell", { name: "1 / 5" }).waitFor();
    const usedCells = await cellsOf(row);
    // Act: switch it off
    await row.getByRole("button", { name: "Deactivate" }).click();
    await row.getByRole("button", { name: "Activate", exact: true }).waitFor();
    const deactivated = await page.getByRole("status").textContent();
    const deactivatedCells = await cellsOf(row);
    const laterCart = await cartWith(customer, { [product.sku]: 1 });
    const refused = await call("PUT", `/carts/${laterCart}/promotion`, {
      token: customer.token,
      body: { code: "SPRING-10" },
    });

    // Assess
    expect(created).toBe("Promotion SPRING-10 created.");
    expect(createdCells.slice(0, 7)).toEqual([
      "SPRING-10",
      "10%",
      "—",
      "Yes",
      "0 / 5",
      "1",
      "always",
    ]);
    expect(applied.status).toBe(200);
    expect(ordered.status).toBe(201);
    expect(ordered.body.discountCents).toBe(200);
    expect(usedCells.slice(3, 6)).toEqual(["Yes", "1 / 5", "1"]);
    expect(deactivated).toBe("Promotion SPRING-10 is deactivated.");
    expect(deactivatedCells.slice(3, 5)).toEqual(["No", "1 / 5"]);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe("PROMOTION_INACTIVE");
    const { rows } = await t.db.query(
      `SELECT kind, value, used, usage_limit, per_customer_limit, active FROM promotions
        WHERE code = 'SPRING-10'`,
    );
    expect(rows).toEqual([
      {
        kind: "percent",
        value: 10,
        used: 1,
        usage_limit: 5,
        per_customer_limit: 1,
        active: false,
      },
    ]);
    await page.close();
  });

  it("lets ops credit a customer's wallet from the order page and see the new balance and the transaction", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { name: "Late Parcel Lamp" });
    const customer = await createUser(t.db, "customer", "Wendy Wallet");
    const ops = await createUser(t.db, "ops", "Otto Ops");
    const order = await orderOf(customer, product.sku);
    const page = await shop.newPage();

    // Act
    await signInAs(shop, page, ops);
    await page.goto(`${shop.web}/ops/orders/${order.id}`);
    await page.getByRole("link", { name: "Customer's wallet" }).click();
    await page.getByRole("heading", { name: "Customer's wallet" }).waitFor();
    const before = await page.getByText(/^Balance:/).textContent();
    await page.getByRole("button", { name: "Credit", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Credit the wallet" });
    await dialog.getByLabel("Amount (EUR)").fill("12.50");
    await dialog.getByLabel("Reason").selectOption("goodwill");
    await dialog.getByLabel("Note").fill("Parcel arrived a week late");
    await dialog.getByRole("button", { name: "Add credit" }).click();
    const credited = await page.getByRole("status").textContent();
    const after = await page.getByText(/^Balance:/).textContent();
    const newest = page.getByRole("table", { name: "Transactions" }).locator("tbody tr").first();
    const cells = await cellsOf(newest);
    const dialogOpen = await dialog.isVisible();

    // Assess
    expect(page.url()).toBe(`${shop.web}/ops/customers/${customer.id}`);
    expect(before).toBe("Balance: €0.00");
    expect(credited).toBe("Credited €12.50: the balance is €12.50.");
    expect(after).toBe("Balance: €12.50");
    expect(cells.slice(1)).toEqual([
      "+€12.50",
      "Goodwill",
      "Parcel arrived a week late",
      "",
      "€12.50",
    ]);
    expect(dialogOpen).toBe(false);
    const { rows } = await t.db.query(
      `SELECT amount_cents::int AS amount, reason, note, order_id, actor_id,
              balance_after_cents::int AS after
         FROM wallet_transactions WHERE customer_id = $1`,
      [customer.id],
    );
    expect(rows).toEqual([
      {
        amount: 1250,
        reason: "goodwill",
        note: "Parcel arrived a week late",
        order_id: null,
        actor_id: ops.id,
        after: 1250,
      },
    ]);
    await page.close();
  });

  const staffLinks = ["Stock", "Ops desk", "Reports", "Staff", "Promotions"];
  it.each([
    ["a stock manager", "stock_manager", ["Stock", "Reports"], "/"],
    ["ops", "ops", ["Ops desk", "Reports"], "/"],
    ["a customer", "customer", [], "/"],
    ["an admin", "admin", staffLinks, "/admin/staff"],
  ] as const)(
    "shows %s only the staff pages of their role, and keeps the admin pages out of reach otherwise",
    async (_, role, links, landing) => {
      // Prepare
      const user = await createUser(t.db, role, `Nav ${role}`);
      const page = await shop.newPage();

      // Act
      await signInAs(shop, page, user);
      const shown = await page.getByRole("navigation").getByRole("link").allTextContents();
      await page.goto(`${shop.web}/admin/staff`);
      await page.waitForURL(`${shop.web}${landing}`);

      // Assess
      expect(shown.filter((name) => staffLinks.includes(name))).toEqual(links);
      expect(new URL(page.url()).pathname).toBe(landing);
      await page.close();
    },
  );

  it("has no serious or critical accessibility violations (axe-core) on the staff pages", async () => {
    // Prepare: a promotion, a customer with a credited wallet, and an admin to see every page
    const admin = await createUser(t.db, "admin", "Ada Admin");
    const customer = await createUser(t.db, "customer", "Axe Customer");
    await createUser(t.db, "stock_manager", "Axe Stock");
    const promotion = await call("POST", "/promotions", {
      token: admin.token,
      body: { code: "AXE-5", kind: "fixed", value: 500, currency: "EUR", usageLimit: 10 },
    });
    expect(promotion.status).toBe(201);
    const credit = await call("POST", `/customers/${customer.id}/wallet/transactions`, {
      token: admin.token,
      body: { amountCents: 1000, reason: "top_up", note: "gift card" },
    });
    expect(credit.status).toBe(201);
    const page = await shop.newPage();
    await signInAs(shop, page, admin);
    const openCredit = () => page.getByRole("button", { name: "Credit", exact: true }).click();
    const views: [string, string, string, (() => Promise<void>)?][] = [
      ["staff", "/admin/staff", "New staff member"],
      ["promotions", "/admin/promotions", "AXE-5"],
      ["customer's wallet", `/ops/customers/${customer.id}`, "gift card"],
      ["credit dialog", `/ops/customers/${customer.id}`, "gift card", openCredit],
    ];

    // Act
    const found: Record<string, string[]> = {};
    for (const [name, path, ready, open] of views) {
      await page.goto(`${shop.web}${path}`);
      await page.getByText(ready, { exact: false }).first().waitFor();
      await open?.();
      found[name] = await seriousAxeViolations(page, name);
    }

    // Assess
    expect(found).toEqual(Object.fromEntries(views.map(([name]) => [name, []])));
    await page.close();
  });
});
