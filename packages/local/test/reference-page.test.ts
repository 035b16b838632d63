/**
 * GET /docs in a real browser, with every host but the API itself cut off: the reference renders
 * every operation of the document from what the API serves, so it works offline.
 */
import { useBrowser } from "@flashstock/testing/browser";
import { useDatabase } from "@flashstock/testing/database";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routes } from "../../../infra/topology.ts";
import { type LocalServer, startHttpServer } from "../src/server.ts";

useDatabase();
const chromium = useBrowser();
let server: LocalServer;

beforeAll(async () => {
  server = await startHttpServer(routes, { port: 0 });
});
afterAll(async () => {
  await server?.close();
});

describe("the API reference page", () => {
  it("renders every route of the topology from the API's own document, loading nothing from any other host", async () => {
    // Prepare: any request that leaves the API's origin is recorded and refused.
    const tab = await chromium.browser.newPage();
    const elsewhere: string[] = [];
    await tab.route("**/*", (request) => {
      const url = request.request().url();
      if (url.startsWith(server.url) || url.startsWith("data:")) return request.continue();
      elsewhere.push(url);
      return request.abort();
    });

    try {
      // Act
      await tab.goto(`${server.url}/docs`);
      await tab.waitForSelector(".opblock-summary", { timeout: 30_000 });
      const operations = await tab.$$eval(".opblock-summary", (blocks) =>
        blocks.map((b) => {
          const method = b.querySelector(".opblock-summary-method")?.textContent ?? "";
          const path = b.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? "";
          return `${method} ${path}`;
        }),
      );
      const title = await tab.textContent(".info .title");

      // Assess
      expect(elsewhere).toEqual([]);
      expect(title).toContain("flashstock");
      expect(operations.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    } finally {
      await tab.close();
    }
  });
});
