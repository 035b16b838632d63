/**
 * The storefront beyond the first purchase, in a real browser: the catalog's category filter, a
 * product's sale countdown and its reviews, a customer's own orders and store credit. What a
 * person sees at each step, and what the database then holds.
 */

import { randomUUID } from "node:crypto";
import { changeWallet } from "@flashstock/core/payment/index";
import { call } from "@flashstock/testing/api";
import { countRows, useDatabase } from "@flashstock/testing/database";
import {
  address,
  cartWith,
  checkout,
  createTestProduct,
  createUser,
  orderOfOne,
  type TestUser,
} from "@flashstock/testing/fixtures";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { orderOf, seriousAxeViolations, signInAs, useStorefront } from "./storefront-harness.ts";

const t = useDatabase();
const shop = useStorefront();

let ops: TestUser;
beforeAll(async () => {
  ops = await createUser(t.db, "ops", "Otto Ops");
});

/** A customer named `name` who has received the product: an order of it, shipped and delivered. */
async function receivedBy(sku: string, name = "Ada Lovelace"): Promise<TestUser> {
  const buyer = await createUser(t.db, "customer", name);
  await orderOfOne(buyer, sku, { until: "delivered", db: t.db });
  return buyer;
}

/** The text of each row of a table's body, a cell's runs of white space made one space. */
async function rowsOf(page: Page, table: string): Promise<string[][]> {
  const rows = page.getByRole("table", { name: table }).locator("tbody tr");
  const cells = await Promise.all(
    (await rows.all()).map((row) => row.locator("td").allTextContents()),
  );
  return cells.map((row) => row.map((cell) => cell.replace(/\s+/g, " ").trim()));
}

const productNames = (page: Page) =>
  page.getByRole("list", { name: "Products" }).getByRole("link").allTextContents();

describe("the storefront's catalog and product pages", () => {
  it("filters the catalog by category and keeps the filter across load more, search and a reload", async () => {
    // Prepare: 2 candles, then 14 lamps (SKUs in that order), all found by one search word
    const word = `Glowy${randomUUID().slice(0, 8)}`;
    const lamps = `Lamps ${word}`;
    const candles = `Candles ${word}`;
    const skuPrefix = `CAT-${word}`;
    for (const i of [0, 1]) {
      await createTestProduct(t.db, {
        sku: `${skuPrefix}-0-${i}`,
        name: `${word} candle ${i}`,
        category: candles,
      });
    }
    const lampNames: string[] = [];
    for (let i = 0; i < 14; i++) {
      const n = String(i).padStart(2, "0");
      lampNames.push(`${word} lamp ${n}`);
      await createTestProduct(t.db, {
        sku: `${skuPrefix}-1-${n}`,
        name: `${word} lamp ${n}`,
        category: lamps,
      });
    }
    const page = await shop.newPage();

    // Act: search, then pick the category the results show
    await page.goto(`${shop.web}/`);
    await page.getByRole("heading", { name: "Shop" }).waitFor();
    await page.getByLabel("Search").fill(word);
    await page.getByLabel("Search").press("Enter");
    await page.getByRole("link", { name: `${word} candle 0` }).waitFor();
    await page.getByLabel("Category").selectOption({ label: lamps });
    await page.getByRole("link", { name: `${word} candle 0` }).waitFor({ state: "detached" });
    const firstPage = await productNames(page);
    await page.getByRole("button", { name: "Load more" }).click();
    await page.getByRole("link", { name: `${word} lamp 13` }).waitFor();
    const afterLoadMore = await productNames(page);
    const moreLeft = await page.getByRole("button", { name: "Load more" }).count();
    const query = Object.fromEntries(new URL(page.url()).searchParams);
    // Act: reload, as from a shared link
    await page.reload();
    await page.getByRole("link", { name: `${word} lamp 00` }).waitFor();
    const reloaded = {
      names: await productNames(page),
      category: await page.getByLabel("Category").inputValue(),
      search: await page.getByLabel("Search").inputValue(),
    };
    // Act: back to every category
    await page.getByLabel("Category").selectOption({ label: "All categories" });
    await page.getByRole("link", { name: `${word} candle 0` }).waitFor();

    // Assess
    expect(firstPage).toEqual(lampNames.slice(0, 12));
    expect(afterLoadMore).toEqual(lampNames);
    expect(moreLeft).toBe(0);
    expect(query).toEqual({ q: word, category: lamps });
    expect(reloaded).toEqual({ names: lampNames.slice(0, 12), category: lamps, search: word });
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ q: word });
    await page.close();
  });

  it("counts down to a product's sale start and enables Add to cart when it begins", async () => {
    // Prepare: a signed-in customer, and a drop whose sale starts in 6 seconds
    const customer = await createUser(t.db, "customer", "Cora Countdown");
    const page = await shop.newPage();
    await signInAs(shop, page, customer);
    const startsAt = Date.now() + 6000;
    const product = await createTestProduct(t.db, {
      name: "Countdown Sneaker",
      available: 3,
      availableFrom: new Date(startsAt).toISOString(),
    });

    // Act
    await page.goto(`${shop.web}/products/${product.sku}`);
    await page.getByRole("heading", { name: "Countdown Sneaker" }).waitFor();
    const before = {
      countdown: await page.getByRole("timer").textContent(),
      disabled: await page.getByRole("button", { name: "Add to cart" }).isDisabled(),
    };
    await page
      .getByRole("button", { name: "Add to cart", disabled: false })
      .waitFor({ timeout: 15_000 });
    const enabledAt = Date.now();
    const countdownsLeft = await page.getByRole("timer").count();
    await page.getByRole("button", { name: "Add to cart" }).click();
    await page.waitForURL(`${shop.web}/cart`);

    // Assess
    expect(before.countdown).toMatch(/^On sale in 0h 00m 0[1-6]s$/);
    expect(before.disabled).toBe(true);
    expect(enabledAt).toBeGreaterThanOrEqual(startsAt);
    expect(countdownsLeft).toBe(0);
    const { rows } = await t.db.query(
      `SELECT i.quantity FROM cart_items i JOIN carts c ON c.id = i.cart_id
        WHERE i.sku = $1 AND c.customer_id = $2`,
      [product.sku, customer.id],
    );
    expect(rows).toEqual([{ quantity: 1 }]);
    await page.close();
  });

  it.each([
    ["an hour, 2 minutes and 3 seconds", 3_723_000, /^On sale in 1h 02m 0[0-3]s$/],
    ["2 days", 2 * 86_400_000, /^On sale in 1d 23h 59m 5\ds$|^On sale in 2d 00h 00m 00s$/],
  ])("shows the time left when the sale starts in %s", async (_, inMs, shown) => {
    // Prepare
    const product = await createTestProduct(t.db, {
      name: "Later Lamp",
      availableFrom: new Date(Date.now() + inMs).toISOString(),
    });
    const page = await shop.newPage();

    // Act
    await page.goto(`${shop.web}/products/${product.sku}`);
    const countdown = await page.getByRole("timer").textContent();

    // Assess
    expect(countdown).toMatch(shown);
    await page.close();
  });

  it("shows a product's pictures with its name as their text, and says so when it has none", async () => {
    // Prepare
    const pictured = await createTestProduct(t.db, {
      name: "Pictured Vase",
      imageUrls: ["https://images.example.com/vase-1.jpg", "https://images.example.com/vase-2.jpg"],
    });
    const plain = await createTestProduct(t.db, { name: "Plain Vase" });
    const page = await shop.newPage();

    // Act
    await page.goto(`${shop.web}/products/${pictured.sku}`);
    await page.getByRole("heading", { name: "Pictured Vase" }).waitFor();
    const pictures = await page
      .locator("article img")
      .evaluateAll((images) => images.map((i) => [i.getAttribute("src"), i.getAttribute("alt")]));
    await page.goto(`${shop.web}/products/${plain.sku}`);
    await page.getByRole("heading", { name: "Plain Vase" }).waitFor();
    const none = {
      images: await page.locator("article img").count(),
      text: await page.getByText("No picture yet").count(),
    };

    // Assess
    expect(pictures).toEqual([
      ["https://images.example.com/vase-1.jpg", "Pictured Vase"],
      ["https://images.example.com/vase-2.jpg", "Pictured Vase, picture 2 of 2"],
    ]);
    expect(none).toEqual({ images: 0, text: 1 });
    await page.close();
  });

  it("lets a customer who received a product review it, newest first beside the older reviews, and shows the new rating", async () => {
    // Prepare: six earlier reviews (one more than a page), each 4 stars, and a buyer
    const product = await createTestProduct(t.db, { name: "Review Kettle" });
    for (let i = 1; i <= 6; i++) {
      const earlier = await receivedBy(product.sku, `Earlier Reviewer${i}`);
      const r = await call("POST", `/products/${product.sku}/reviews`, {
        token: earlier.token,
        body: { rating: 4, title: `Earlier ${i}` },
      });
      expect(r.status).toBe(201);
    }
    const buyer = await receivedBy(product.sku, "Ada Lovelace");
    const page = await shop.newPage();
    await signInAs(shop, page, buyer);
    const reviewTitles = () =>
      page.getByRole("list", { name: "Reviews, newest first" }).locator("strong").allTextContents();

    // Act: read the reviews, then write one
    await page.goto(`${shop.web}/products/${product.sku}`);
    await page.getByRole("heading", { name: "Review Kettle" }).waitFor();
    await page.getByRole("article", { name: "Review by Earlier R." }).first().waitFor();
    const summaryBefore = await page.getByText(/^Rated /).textContent();
    const firstPage = await reviewTitles();
    await page.getByRole("button", { name: "More reviews" }).click();
    await page.getByText("Earlier 1", { exact: true }).waitFor();
    await page.getByLabel("Rating").selectOption("5");
    await page.getByLabel("Title").fill("Boils fast");
    await page.getByLabel("Review", { exact: true }).fill("Quiet, too.\nPours well.");
    await page.getByRole("button", { name: "Post review" }).click();
    const thanks = await page.getByRole("status").textContent();
    await page.getByText("Rated 4.14 / 5 from 7 reviews").waitFor();
    const mine = await page.getByRole("article", { name: "Review by Ada L." }).innerText();
    const allTitles = await reviewTitles();

    // Assess
    expect(summaryBefore).toBe("Rated 4 / 5 from 6 reviews");
    expect(firstPage).toEqual([6, 5, 4, 3, 2].map((i) => `Earlier ${i}`));
    expect(thanks).toBe("Thank you: your review is published.");
    expect(mine).toContain("5 / 5");
    expect(mine).toContain("Quiet, too.\nPours well.");
    expect(allTitles).toEqual(["Boils fast", ...[6, 5, 4, 3, 2, 1].map((i) => `Earlier ${i}`)]);
    const { rows } = await t.db.query(
      "SELECT rating, title, body FROM reviews WHERE sku = $1 AND customer_id = $2",
      [product.sku, buyer.id],
    );
    expect(rows).toEqual([{ rating: 5, title: "Boils fast", body: "Quiet, too.\nPours well." }]);
    await page.close();
  });

  it.each([
    [
      "who never received it",
      async (_: TestUser, __: string) => {},
      "Only customers who received this product can review it",
      0,
    ],
    [
      "who already reviewed it",
      async (customer: TestUser, sku: string) => {
        await orderOfOne(customer, sku, { until: "delivered", db: t.db });
        const r = await call("POST", `/products/${sku}/reviews`, {
          token: customer.token,
          body: { rating: 3 },
        });
        expect(r.status).toBe(201);
      },
      "You have already reviewed this product",
      1,
    ],
  ])(
    "tells a customer %s why the review is refused, and keeps nothing of it",
    async (_, history, told, kept) => {
      // Prepare
      const product = await createTestProduct(t.db, { name: "Refusing Kettle" });
      const customer = await createUser(t.db, "customer", "Rex Refused");
      await history(customer, product.sku);
      const page = await shop.newPage();
      await signInAs(shop, page, customer);

      // Act
      await page.goto(`${shop.web}/products/${product.sku}`);
      await page.getByRole("heading", { name: "Refusing Kettle" }).waitFor();
      await page.getByLabel("Rating").selectOption("1");
      await page.getByLabel("Title").fill("Never again");
      await page.getByRole("button", { name: "Post review" }).click();
      const refusal = await page.getByRole("alert").textContent();

      // Assess
      expect(refusal).toBe(told);
      expect(
        await countRows(t.db, "reviews WHERE sku = $1 AND customer_id = $2", [
          product.sku,
          customer.id,
        ]),
      ).toBe(kept);
      expect(await countRows(t.db, "reviews WHERE title = 'Never again'")).toBe(0);
      await page.close();
    },
  );
});

describe("the customer's account", () => {
  it("lists a customer's own orders, newest first a page at a time, and the wallet's balance and transactions", async () => {
    // Prepare: a top-up by ops, ten orders paid at the door, then one paid with store credit
    const product = await createTestProduct(t.db, {
      name: "Account Mug",
      priceCents: 1250,
      available: 50,
    });
    const customer = await createUser(t.db, "customer", "Wanda Wallet");
    const someoneElse = await createUser(t.db, "customer", "Otto Other");
    await orderOf(someoneElse, product.sku);
    await changeWallet(
      t.db,
      customer.id,
      { amountCents: 10_000, reason: "top_up", note: "gift card" },
      ops.id,
    );
    for (let i = 0; i < 10; i++) await orderOf(customer, product.sku);
    const paid = await checkout(
      customer,
      await cartWith(customer, { [product.sku]: 1 }),
      randomUUID(),
      { ...address, line1: `${randomUUID()} Credit Street` },
      { method: "store_credit" },
    );
    expect(paid.status).toBe(201);
    const { rows: expected } = await t.db.query<{ id: string; status: string }>(
      "SELECT id, status FROM orders WHERE customer_id = $1 ORDER BY created_at DESC, id DESC",
      [customer.id],
    );
    const page = await shop.newPage();
    await signInAs(shop, page, customer);

    // Act: my orders
    await page.getByRole("navigation").getByRole("link", { name: "My orders" }).click();
    await page.getByRole("heading", { name: "My orders" }).waitFor();
    await page.getByRole("table", { name: "Orders" }).locator("tbody tr").first().waitFor();
    const firstPage = await rowsOf(page, "Orders");
    await page.getByRole("button", { name: "Load more" }).click();
    await page.getByRole("table", { name: "Orders" }).locator("tbody tr").nth(10).waitFor();
    const allOrders = await rowsOf(page, "Orders");
    await page.getByRole("link", { name: `Order ${paid.body.id.slice(0, 8)}` }).click();
    await page.waitForURL(`${shop.web}/orders/${paid.body.id}`);
    // Act: the account, from the name in the navigation
    await page.getByRole("navigation").getByRole("link", { name: "Wanda Wallet" }).click();
    await page.getByRole("heading", { name: "Store credit" }).waitFor();
    await page.getByRole("table", { name: "Wallet transactions" }).waitFor();
    const balance = await page.getByText(/^Balance:/).textContent();
    const transactions = await rowsOf(page, "Wallet transactions");

    // Assess
    const shown = expected.map((o) => [
      `Order ${o.id.slice(0, 8)}`,
      o.status.replaceAll("_", " "),
      "€12.50",
    ]);
    expect(expected).toHaveLength(11);
    expect(expected[0]?.id).toBe(paid.body.id);
    expect(firstPage.map((cells) => cells.slice(1))).toEqual(shown.slice(0, 10));
    expect(allOrders.map((cells) => cells.slice(1))).toEqual(shown);
    expect(allOrders.every((cells) => /\d/.test(cells[0] ?? ""))).toBe(true);
    expect(balance).toBe("Balance: €87.50");
    expect(transactions.map((cells) => cells.slice(1))).toEqual([
      ["-€12.50", `Payment for order ${paid.body.id.slice(0, 8)}`, ""],
      ["+€100.00", "Top-up", "gift card"],
    ]);
    const { rows } = await t.db.query(
      "SELECT balance_cents::int AS balance FROM wallets WHERE customer_id = $1",
      [customer.id],
    );
    expect(rows).toEqual([{ balance: 8750 }]);
    await page.close();
  });

  it("has no serious or critical accessibility violations (axe-core) on the product page with reviews, my orders and the account", async () => {
    // Prepare: a customer with an order, store credit and a reviewed product on a sale yet to start
    const product = await createTestProduct(t.db, {
      name: "Axe Kettle",
      imageUrls: ["https://images.example.com/kettle.jpg"],
    });
    const customer = await receivedBy(product.sku, "Axel Axe");
    await call("POST", `/products/${product.sku}/reviews`, {
      token: customer.token,
      body: { rating: 4, title: "Sturdy", body: "Heavy lid." },
    });
    await changeWallet(t.db, customer.id, { amountCents: 500, reason: "goodwill" }, ops.id);
    const later = await createTestProduct(t.db, {
      name: "Axe Drop",
      availableFrom: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const page = await shop.newPage();
    await signInAs(shop, page, customer);
    const pages = [
      ["reviewed product", `/products/${product.sku}`, "Sturdy"],
      ["product on sale later", `/products/${later.sku}`, "On sale in"],
      ["my orders", "/orders", "Order "],
      ["account", "/account", "Balance:"],
    ];

    // Act
    const found: Record<string, string[]> = {};
    for (const [name, path, ready] of pages as [string, string, string][]) {
      await page.goto(`${shop.web}${path}`);
      await page.getByText(ready).first().waitFor();
      found[name] = await seriousAxeViolations(page, name);
    }

    // Assess
    expect(found).toEqual(Object.fromEntries(pages.map(([name]) => [name, []])));
    await page.close();
  });
});
