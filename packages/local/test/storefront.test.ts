/**
 * The storefront in a real browser (Chromium from @sparticuz/chromium, driven by playwright-core),
 * served as `npm start` serves it and calling the local runtime's API across origins, as it does
 * in the cloud: what a shopper sees at each step, and what the database then holds.
 */
import { useBrowser } from "@flashstock/testing/browser";
import { useDatabase } from "@flashstock/testing/database";
import { createTestProduct } from "@flashstock/testing/fixtures";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cors, routes } from "../../../infra/topology.ts";
import { type LocalServer, startHttpServer } from "../src/server.ts";
import { ensureWebBuild, startWebServer } from "../src/web.ts";

const t = useDatabase();
const browser = useBrowser();
let api: LocalServer;
let web: { url: string; close: () => Promise<void> };

beforeAll(async () => {
  api = await startHttpServer(routes, { port: 0 });
  await ensureWebBuild();
  web = await startWebServer({ port: 0, host: "127.0.0.1", apiUrl: api.url });
  process.env[cors.originsEnv] = web.url;
}, 120_000);
afterAll(async () => {
  delete process.env[cors.originsEnv];
  await web?.close();
  await api?.close();
});

async function register(page: Page, name: string, email: string): Promise<void> {
  await page.goto(`${web.url}/account`);
  await page.getByRole("button", { name: "New here? Create an account" }).click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("violet harbor lantern");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("navigation").getByText(name).waitFor();
}

async function fillAddress(page: Page): Promise<void> {
  await page.getByLabel("Name").fill("Ada Lovelace");
  await page.getByLabel("Street").fill("12 St James's Square");
  await page.getByLabel("City").fill("London");
  await page.getByLabel("Postal code").fill("SW1Y 4JH");
  await page.getByLabel("Country").fill("GB");
}

describe("the storefront", () => {
  it("lets a newcomer register, buy with cash on delivery and land on the order page", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { name: "Storefront Mug", available: 3 });
    const email = `newcomer-${Date.now()}@example.com`;
    const page = await browser.browser.newPage();

    // Act
    await register(page, "Nina Newcomer", email);
    await page.goto(`${web.url}/products/${product.sku}`);
    await page.getByRole("heading", { name: "Storefront Mug" }).waitFor();
    const stockLine = await page.getByText("Only 3 left").textContent();
    await page.getByRole("button", { name: "Add to cart" }).click();
    await page.waitForURL(`${web.url}/cart`);
    await page.getByText("Total €10.00").waitFor();
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
    const pages = await Promise.all([browser.browser.newPage(), browser.browser.newPage()]);
    for (const [i, page] of pages.entries()) {
      await register(page, `Racer ${i}`, `racer-${i}-${Date.now()}@example.com`);
      await page.goto(`${web.url}/products/${product.sku}`);
      await page.getByRole("button", { name: "Add to cart" }).click();
      await page.waitForURL(`${web.url}/cart`);
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

  it("keeps a shopper signed in across a reload, with the refresh token", async () => {
    // Prepare
    const page = await browser.browser.newPage();
    await register(page, "Rita Reload", `reload-${Date.now()}@example.com`);

    // Act
    await page.reload();

    // Assess
    await page.getByRole("navigation").getByText("Rita Reload").waitFor();
    await page.close();
  });
});
