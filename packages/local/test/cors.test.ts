/**
 * CORS as API Gateway applies it, answered by the local runtime over real sockets: a browser page
 * on an allowed origin sends a preflight, then the request, and reads the answer; a page elsewhere
 * gets no Access-Control-Allow-Origin, so its browser refuses the answer.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { useBrowser } from "@flashstock/testing/browser";
import { useDatabase } from "@flashstock/testing/database";
import {
  address,
  cartWith,
  cashOnDelivery,
  createTestProduct,
  createUser,
} from "@flashstock/testing/fixtures";
import { checkedFetch } from "@flashstock/testing/http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cors, routes } from "../../../infra/topology.ts";
import { type LocalServer, startHttpServer } from "../src/server.ts";

const t = useDatabase();
const WEB_UI = "http://127.0.0.1:3001";
let server: LocalServer;

beforeAll(async () => {
  process.env[cors.originsEnv] = `${WEB_UI},https://shop.example.com`;
  server = await startHttpServer(routes, { port: 0 });
});
afterAll(async () => {
  delete process.env[cors.originsEnv];
  await server?.close();
});

const preflight = (path: string, origin: string, method = "POST") =>
  checkedFetch(server.url + path, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": method,
      "access-control-request-headers": "authorization,content-type,idempotency-key",
    },
  });

const headersOf = (res: Response) => Object.fromEntries(res.headers.entries());

describe("CORS on the local runtime", () => {
  it.each(["/products", "/checkout", "/carts/00000000-0000-4000-8000-000000000000/items/A-1"])(
    "answers a preflight to %s from an allowed origin itself, with the topology's policy",
    async (path) => {
      // Act
      const res = await preflight(path, WEB_UI);

      // Assess
      expect(res.status).toBe(204);
      expect(await res.text()).toBe("");
      expect(headersOf(res)).toMatchObject({
        "access-control-allow-origin": WEB_UI,
        "access-control-allow-methods": cors.allowMethods.join(","),
        "access-control-allow-headers": cors.allowHeaders.join(","),
        "access-control-max-age": String(cors.maxAgeSeconds),
        vary: "origin",
      });
    },
  );

  it.each([
    "http://evil.example.com",
    "http://127.0.0.1:3002",
    "https://shop.example.com.evil.example",
    "null",
  ])(
    "gives an origin not on the list (%s) no Access-Control-Allow-Origin, on preflight or answer",
    async (origin) => {
      // Act
      const pre = await preflight("/products", origin, "GET");
      const answer = await checkedFetch(`${server.url}/products`, { headers: { origin } });

      // Assess
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-origin")).toBeNull();
      expect(answer.status).toBe(200);
      expect(answer.headers.get("access-control-allow-origin")).toBeNull();
    },
  );

  it("lets a page on the allowed origin read a checkout's answer and its Idempotent-Replayed header", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 5 });
    const buyer = await createUser(t.db);
    const cartId = await cartWith(buyer, { [product.sku]: 1 });
    const send = () =>
      checkedFetch(`${server.url}/checkout`, {
        method: "POST",
        headers: {
          origin: WEB_UI,
          authorization: `Bearer ${buyer.token}`,
          "content-type": "application/json",
          "idempotency-key": "cors-key-1",
        },
        body: JSON.stringify({ cartId, shippingAddress: address, payment: cashOnDelivery }),
      });

    // Act
    const first = await send();
    const replay = await send();

    // Assess
    expect(first.status).toBe(201);
    expect(first.headers.get("access-control-allow-origin")).toBe(WEB_UI);
    expect(first.headers.get("access-control-expose-headers")).toBe("idempotent-replayed");
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.headers.get("access-control-allow-origin")).toBe(WEB_UI);
  });

  it("puts the allowed origin on error answers too, so that the page can read why it was refused", async () => {
    // Act
    const res = await checkedFetch(`${server.url}/orders`, { headers: { origin: WEB_UI } });

    // Assess
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe(WEB_UI);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("UNAUTHENTICATED");
  });

  it("answers a preflight to a path no route has with 404 NOT_FOUND", async () => {
    // Act
    const res = await preflight("/nope", WEB_UI);

    // Assess
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
  });
});

describe("CORS in a real browser", () => {
  const chromium = useBrowser();
  let pages: { allowed: Server; elsewhere: Server };
  const origin = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

  beforeAll(async () => {
    // Two pages that serve nothing but themselves: one on an origin the API allows, one not.
    const page = () =>
      new Promise<Server>((resolve) => {
        const s = createServer((_, res) => {
          res
            .writeHead(200, { "content-type": "text/html" })
            .end("<!doctype html><title>shop</title>");
        });
        s.listen(0, "127.0.0.1", () => resolve(s));
      });
    pages = { allowed: await page(), elsewhere: await page() };
    process.env[cors.originsEnv] = `${WEB_UI},${origin(pages.allowed)}`;
  });
  afterAll(() => {
    pages?.allowed.close();
    pages?.elsewhere.close();
  });

  /** Registers, makes a cart and checks out twice with one key from the page, as a storefront would. */
  async function shopFrom(pageOrigin: string, sku: string) {
    const tab = await chromium.browser.newPage();
    try {
      await tab.goto(pageOrigin);
      return await tab.evaluate(
        async ({ api, sku, shippingAddress }) => {
          const json = { "content-type": "application/json" };
          try {
            const registered = await fetch(`${api}/auth/register`, {
              method: "POST",
              headers: json,
              body: JSON.stringify({
                email: `browser-${crypto.randomUUID()}@example.com`,
                password: "a long passphrase",
                name: "Browser",
              }),
            });
            const { token } = (await registered.json()) as { token: string };
            const auth = { authorization: `Bearer ${token}` };
            const product = await fetch(`${api}/products/${sku}`);
            if (product.status !== 200) return { error: `product ${product.status}` };
            const created = await fetch(`${api}/carts`, { method: "POST", headers: auth });
            const cart = (await created.json()) as { id: string };
            await fetch(`${api}/carts/${cart.id}/items/${sku}`, {
              method: "PUT",
              headers: { ...auth, ...json },
              body: JSON.stringify({ quantity: 1 }),
            });
            const checkout = () =>
              fetch(`${api}/checkout`, {
                method: "POST",
                headers: { ...auth, ...json, "idempotency-key": `browser-${cart.id}` },
                body: JSON.stringify({
                  cartId: cart.id,
                  shippingAddress,
                  payment: { method: "cash_on_delivery" },
                }),
              });
            const first = await checkout();
            const again = await checkout();
            return {
              statuses: [registered.status, first.status, again.status],
              orderStatus: ((await first.json()) as { status: string }).status,
              replayed: again.headers.get("idempotent-replayed"),
            };
          } catch (err) {
            return { error: String(err) };
          }
        },
        { api: server.url, sku, shippingAddress: address },
      );
    } finally {
      await tab.close();
    }
  }

  it("lets a page on an allowed origin shop end to end: preflights pass, answers and the exposed header are readable", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 10 });

    // Act
    const outcome = await shopFrom(origin(pages.allowed), product.sku);

    // Assess
    expect(outcome).toEqual({ statuses: [201, 201, 201], orderStatus: "placed", replayed: "true" });
  });

  it("keeps every answer from a page on an origin not on the list: the browser refuses it", async () => {
    // Prepare
    const product = await createTestProduct(t.db, { available: 10 });

    // Act
    const outcome = await shopFrom(origin(pages.elsewhere), product.sku);

    // Assess
    expect(outcome).toEqual({ error: "TypeError: Failed to fetch" });
  });
});
