/**
 * `npm run screenshots`: the main pages of the web UI as PNGs in docs/img/, for the README. Runs
 * what `npm start` runs on a throwaway database (the demo catalog and customer), makes a little
 * history through the API (orders, a sale that takes a SKU below its minimum, a shipment), and
 * photographs each page in Chromium from @sparticuz/chromium.
 */
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { demoCustomer } from "@flashstock/core/seed";
import { launchChromium, unpackChromium } from "@flashstock/testing/chromium";
import { freePort } from "@flashstock/testing/ports";
import { startLocalRuntime } from "@flashstock/testing/runtime";
import type { Page } from "playwright-core";

const outDir = fileURLToPath(new URL("../../../docs/img/", import.meta.url));
const admin = { email: "admin@example.com", password: "admin-local-only" };

async function call(api: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      "idempotency-key": randomUUID(),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const signIn = async (api: string, who: { email: string; password: string }) =>
  (await call(api, "POST", "/auth/login", undefined, {
    email: who.email,
    password: who.password,
  })) as {
    token: string;
    refreshToken: string;
    user: unknown;
  };

/**
 * Orders by the demo customer, one delivered and reviewed, a coupon code, so that the pages have
 * something to show.
 */
async function makeHistory(api: string): Promise<{ shippedOrder: string }> {
  const customer = await signIn(api, demoCustomer);
  const staff = await signIn(api, admin);
  const buy = async (lines: Record<string, number>, line1: string) => {
    const cart = await call(api, "POST", "/carts", customer.token);
    for (const [sku, quantity] of Object.entries(lines)) {
      await call(api, "PUT", `/carts/${cart.id}/items/${sku}`, customer.token, { quantity });
    }
    return call(api, "POST", "/checkout", customer.token, {
      cartId: cart.id,
      shippingAddress: {
        name: "Demo Customer",
        line1,
        city: "Berlin",
        postalCode: "10115",
        country: "DE",
      },
      payment: { method: "cash_on_delivery" },
    });
  };
  const first = await buy({ "HOODIE-GRY-L": 2, "MUG-LOGO": 1 }, "1 Main St");
  for (let i = 0; i < 8; i++) await buy({ "TEE-BLK-M": 13 }, `${i + 2} Sale Street`);
  await buy({ "HOODIE-GRY-L": 2, "MUG-LOGO": 1 }, "1 Main St"); // held as a duplicate
  // The consumers confirm the orders within a moment; ship the first once it is confirmed.
  for (let i = 0; i < 50; i++) {
    const order = await call(api, "GET", `/orders/${first.id}`, staff.token);
    if (order.status === "confirmed") break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await call(api, "POST", `/orders/${first.id}/ship`, staff.token, {
    carrier: "DHL",
    trackingNumber: "00340434161094042557",
    trackingUrl: "https://www.dhl.com/track?n=00340434161094042557",
  });
  await call(api, "POST", `/orders/${first.id}/deliver`, staff.token);
  await call(api, "POST", "/products/HOODIE-GRY-L/reviews", customer.token, {
    rating: 5,
    title: "Warm and well made",
    body: "Soft inside, and the seams held after many washes.",
  });
  await call(api, "POST", "/promotions", staff.token, {
    code: "FLASH10",
    kind: "percent",
    value: 10,
    usageLimit: 100,
    perCustomerLimit: 1,
  });
  return { shippedOrder: first.id };
}

async function signInPage(page: Page, web: string, who: { email: string; password: string }) {
  await page.goto(`${web}/account`);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${web}/`);
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "flashstock-screenshots-"));
  const executablePath = await unpackChromium(join(work, "chromium"));
  const webPort = await freePort();
  const runtime = await startLocalRuntime({
    DATA_DIR: join(work, "data"),
    PORT: String(await freePort()),
    PG_PORT: String(await freePort()),
    SES_PORT: String(await freePort()),
    WEB_PORT: String(webPort),
    DATABASE_URL: "",
    JWT_SECRET: "",
    POWERTOOLS_LOG_LEVEL: "ERROR",
  });
  const web = `http://127.0.0.1:${webPort}`;
  const browser = await launchChromium(executablePath);
  try {
    const { shippedOrder } = await makeHistory(runtime.url);
    await mkdir(outDir, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const shoot = async (name: string, path: string, ready: string) => {
      await page.goto(`${web}${path}`);
      await page.getByText(ready).first().waitFor();
      await page.waitForTimeout(300); // charts draw on the next frame
      await page.screenshot({ path: join(outDir, `${name}.png`), fullPage: true });
      console.log(`wrote docs/img/${name}.png`);
    };
    await signInPage(page, web, demoCustomer);
    await shoot("storefront", "/", "Logo mug");
    await shoot("product", "/products/HOODIE-GRY-L", "Warm and well made");
    await page.goto(`${web}/products/MUG-LOGO`);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await page.waitForURL(`${web}/cart`);
    await page.getByLabel("Coupon code").fill("FLASH10");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText("Discount (FLASH10)").waitFor();
    await page.screenshot({ path: join(outDir, "cart.png"), fullPage: true });
    console.log("wrote docs/img/cart.png");
    await shoot("order", `/orders/${shippedOrder}`, "Track the parcel");
    await page.getByRole("button", { name: "Sign out" }).click();
    await signInPage(page, web, admin);
    await shoot("stock-dashboard", "/stock", "TEE-BLK-M");
    await shoot("stock-item", "/stock/TEE-BLK-M", "Ledger");
    await shoot("reports", "/reports", "Top products");
    await shoot("ops-desk", "/ops", "Held duplicates (1)");
    await shoot("admin-staff", "/admin/staff", "New staff member");
    await shoot("admin-promotions", "/admin/promotions", "FLASH10");
  } finally {
    await browser.close();
    await runtime.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
