import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "@flashstock/testing/ports";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
const json = async (res: Response): Promise<any> => res.json();
const started: ChildProcess[] = [];

/** Runs what `npm start` runs, with its own data directory and ports, until it prints its URL. */
async function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "packages/local/src/main.ts"], {
    cwd: repoRoot,
    env: { ...process.env, ...env, DATABASE_URL: "", JWT_SECRET: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let output = "";
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (d) => {
      output += d;
      const m = /running at (http:\/\/\S+)/.exec(output);
      if (m?.[1]) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  const stop = () =>
    new Promise<number | null>((resolve) => {
      child.once("exit", (code) => resolve(code));
      child.kill("SIGINT");
    });
  return { url, stop, output: () => output };
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
});
