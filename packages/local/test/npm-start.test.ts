import type { ChildProcess } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type StoredEmail, storedEmails } from "@flashstock/local/ses";
import { freePort } from "@flashstock/testing/ports";
import { startLocalRuntime } from "@flashstock/testing/runtime";
import { afterAll, describe, expect, it } from "vitest";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
const json = async (res: Response): Promise<any> => res.json();
const started: ChildProcess[] = [];

/** npm start with its own data directory and ports; the test's database and secret are not passed. */
async function start(env: Record<string, string>) {
  const runtime = await startLocalRuntime({ ...env, DATABASE_URL: "", JWT_SECRET: "" });
  started.push(runtime.child);
  return runtime;
}

/** JSON over HTTP, as a storefront sends it. */
async function send(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await json(res) };
}

/** Polls the SES emulator's store until `done` holds for the emails, or fails after 20 s. */
async function waitForEmails(sesUrl: string, done: (emails: StoredEmail[]) => boolean) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const emails = await storedEmails(sesUrl);
    if (done(emails)) return emails;
    if (Date.now() > deadline) throw new Error(`emails so far: ${emails.map((e) => e.subject)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

afterAll(() => {
  for (const c of started) if (c.exitCode === null) c.kill("SIGKILL");
});

describe("npm start (the local runtime)", () => {
  it("serves the API on embedded Postgres, seeds a new database once, and keeps data across a restart", async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), "flashstock-start-"));
    await chmod(dataDir, 0o755);
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      PG_PORT: String(await freePort()),
      SES_PORT: String(await freePort()),
      POWERTOOLS_LOG_LEVEL: "SILENT",
    };
    try {
      // Act: first start
      const first = await start(env);
      const health = await fetch(`${first.url}/health`);
      const products = await json(await fetch(`${first.url}/products?limit=100`));
      const login = await fetch(`${first.url}/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "admin@example.com", password: "admin-local-only" }),
      });
      const { token } = await json(login);
      const created = await fetch(`${first.url}/products`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({
          sku: "KEEP-ME",
          name: "Kept",
          priceCents: 100,
          available: 3,
          minQuantity: 1,
        }),
      });
      const firstExit = await first.stop();

      // Act: second start on the same data directory
      const second = await start(env);
      const kept = await fetch(`${second.url}/products/KEEP-ME`);
      const again = await json(await fetch(`${second.url}/products?limit=100`));
      const stillValid = await fetch(`${second.url}/inventory`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const secondExit = await second.stop();

      // Assess
      expect(health.status).toBe(200);
      expect(products.items.length).toBeGreaterThan(0);
      expect(login.status).toBe(200);
      expect(created.status).toBe(201);
      expect(firstExit).toBe(0);
      expect(kept.status).toBe(200);
      expect(again.items).toHaveLength(products.items.length + 1);
      expect(second.output()).toContain("demo catalog: not loaded");
      expect(stillValid.status).toBe(200);
      expect(secondExit).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("puts exactly one low-stock and one out-of-stock email in the local inbox after a flash sale over HTTP, and reports a duplicate order to ops once", async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), "flashstock-start-"));
    await chmod(dataDir, 0o755);
    const sesPort = await freePort();
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      PG_PORT: String(await freePort()),
      SES_PORT: String(sesPort),
      SES_ENDPOINT: "",
      STOCK_MANAGER_EMAILS: "",
      ORDER_OPS_EMAILS: "",
      SEED_DEMO: "0",
      // Unset, so the runtime's own default (WARN) applies: a 409 is logged at INFO, and must not show.
      POWERTOOLS_LOG_LEVEL: "",
    };
    const sesUrl = `http://127.0.0.1:${sesPort}`;
    const shipTo = {
      name: "A",
      line1: "1 Road",
      city: "Paris",
      postalCode: "75001",
      country: "FR",
    };
    try {
      const app = await start(env);
      const api = (path: string) => `${app.url}${path}`;
      const admin = await send(api("/auth/login"), "POST", {
        email: "admin@example.com",
        password: "admin-local-only",
      });
      const auth = (token: string) => ({ authorization: `Bearer ${token}` });
      for (const [sku, available] of [
        ["FLASH-1", 5],
        ["STAPLE-1", 100],
      ] as const) {
        await send(
          api("/products"),
          "POST",
          { sku, name: "Flash Deal", priceCents: 999, available, minQuantity: 2 },
          auth(admin.body.token),
        );
      }
      const buy = async (token: string, sku = "FLASH-1") => {
        const cart = await send(api("/carts"), "POST", undefined, auth(token));
        await send(api(`/carts/${cart.body.id}/items/${sku}`), "PUT", { quantity: 1 }, auth(token));
        return send(
          api("/checkout"),
          "POST",
          { cartId: cart.body.id, shippingAddress: shipTo },
          { ...auth(token), "idempotency-key": `k-${cart.body.id}` },
        );
      };
      const buyers = await Promise.all(
        Array.from({ length: 7 }, (_, i) =>
          send(api("/auth/register"), "POST", {
            email: `buyer${i}@example.com`,
            password: "correct horse battery",
            name: `Buyer ${i}`,
          }).then((r) => r.body.token as string),
        ),
      );

      // Act: six buyers for five units; another buyer orders the same staple twice
      const sale = await Promise.all(buyers.slice(1).map((token) => buy(token)));
      const first = await buy(buyers[0] as string, "STAPLE-1");
      const repeat = await buy(buyers[0] as string, "STAPLE-1");
      const expected = (emails: StoredEmail[]) =>
        emails.filter((e) => e.subject.includes("(FLASH-1)")).length >= 2 &&
        emails.some((e) => e.destination.to.includes("order-ops@example.com"));
      await waitForEmails(sesUrl, expected);
      // Another relay run (every 3 s locally) must add nothing.
      await new Promise((r) => setTimeout(r, 4_000));
      const emails = await waitForEmails(sesUrl, expected);
      const exit = await app.stop();

      // Assess
      expect(sale.map((r) => r.status).sort()).toEqual([201, 201, 201, 201, 201, 409]);
      expect([first.body.status, repeat.body.status]).toEqual(["placed", "on_hold"]);
      expect(app.output()).not.toContain('"level":"INFO"');
      const opsMail = emails.filter((e) => e.destination.to.includes("order-ops@example.com"));
      expect(opsMail).toHaveLength(1);
      expect(opsMail[0]?.body.text).toContain(repeat.body.id);
      const alerts = emails.filter((e) => e.destination.to.includes("stock-manager@example.com"));
      expect(alerts.map((e) => e.subject).sort()).toEqual([
        "Low stock: Flash Deal (FLASH-1) - 1 left, minimum 2",
        "URGENT - Out of stock: Flash Deal (FLASH-1) - 0 left, minimum 2",
      ]);
      expect(exit).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
