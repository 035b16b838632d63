/**
 * One way for the browser tests to reach the web UI: the API on an ephemeral port, the built UI
 * served as `npm start` serves it (its own origin, so CORS is exercised), and the steps a person
 * takes on every page (register, sign in, fill an address).
 */
import { createRequire } from "node:module";
import { useBrowser } from "@flashstock/testing/browser";
import { orderOfOne, PASSWORD, type TestUser } from "@flashstock/testing/fixtures";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { cors, routes } from "../../../infra/topology.ts";
import { type LocalServer, startHttpServer } from "../src/server.ts";
import { ensureWebBuild, startWebServer } from "../src/web.ts";

const axeScript = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/**
 * The ids of the serious and critical axe-core violations on the page as it is now (axe's own
 * script, from its npm package, injected into the page).
 */
export async function seriousAxeViolations(page: Page, name: string): Promise<string[]> {
  await page.addScriptTag({ path: axeScript });
  const result = await page.evaluate(async () => {
    type AxeResults = { violations: { id: string; impact: string }[]; passes: unknown[] };
    const { axe } = globalThis as unknown as { axe: { run: () => Promise<AxeResults> } };
    const r = await axe.run();
    return { violations: r.violations, passes: r.passes.length };
  });
  // axe ran its rules on the page (a page it could not read would pass nothing)
  expect(result.passes, name).toBeGreaterThan(10);
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => v.id);
}

export interface Storefront {
  /** The web UI's origin, e.g. http://127.0.0.1:41234 */
  web: string;
  /** The API's origin. */
  api: string;
  newPage(): Promise<Page>;
  /** A browser profile of its own: its pages are one shopper's tabs, sharing localStorage. */
  newContext(): Promise<BrowserContext>;
}

/**
 * Starts the API, the web UI and a browser for the calling test file; with a Stripe publishable
 * key, the UI's config.json carries it and the storefront offers cards.
 */
export function useStorefront(options: { stripePublishableKey?: string } = {}): Storefront {
  const browser = useBrowser();
  let api: LocalServer | undefined;
  let web: { url: string; close: () => Promise<void> } | undefined;
  const handle: Storefront = {
    web: "",
    api: "",
    newPage: () => browser.browser.newPage(),
    newContext: () => browser.browser.newContext(),
  };
  beforeAll(async () => {
    api = await startHttpServer(routes, { port: 0 });
    await ensureWebBuild();
    web = await startWebServer({
      port: 0,
      host: "127.0.0.1",
      apiUrl: api.url,
      stripePublishableKey: options.stripePublishableKey,
    });
    process.env[cors.originsEnv] = web.url;
    handle.web = web.url;
    handle.api = api.url;
  }, 120_000);
  afterAll(async () => {
    delete process.env[cors.originsEnv];
    await web?.close();
    await api?.close();
  });
  return handle;
}

export async function register(
  shop: Storefront,
  page: Page,
  name: string,
  email: string,
): Promise<void> {
  await page.goto(`${shop.web}/account`);
  await page.getByRole("button", { name: "New here? Create an account" }).click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("violet harbor lantern");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("navigation").getByText(name).waitFor();
}

export async function signInAs(shop: Storefront, page: Page, user: TestUser): Promise<void> {
  await page.goto(`${shop.web}/account`);
  await page.getByLabel("Email").fill(user.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation").getByText(user.name).waitFor();
}

/** A placed order of the customer, through the API; `line1` repeats another's address. */
export const orderOf = (customer: TestUser, sku: string, line1?: string) =>
  orderOfOne(customer, sku, line1 ? { line1 } : {});

export async function fillAddress(page: Page): Promise<void> {
  await page.getByLabel("Name").fill("Ada Lovelace");
  await page.getByLabel("Street").fill("12 St James's Square");
  await page.getByLabel("City").fill("London");
  await page.getByLabel("Postal code").fill("SW1Y 4JH");
  await page.getByLabel("Country").fill("GB");
}
