import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverProcesses, untilGone } from "@flashstock/testing/own-postgres";
import { freePort } from "@flashstock/testing/ports";
import { describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "../src/postgres.ts";

describe("the embedded Postgres of npm start", () => {
  it("stops a server that has already died instead of waiting for ever", async () => {
    // Prepare: a server whose postmaster is killed (the OOM killer, say)
    const root = await mkdtemp(join(tmpdir(), "flashstock-dead-postgres-"));
    await chmod(root, 0o755);
    const dataDir = join(root, "postgres");
    try {
      const server = await startEmbeddedPostgres({
        dataDir,
        port: await freePort(),
        database: "flashstock",
        persistent: true,
      });
      const { postmaster } = serverProcesses(dataDir);
      process.kill(postmaster, "SIGKILL");
      await untilGone([postmaster]);

      // Act
      const outcome = await Promise.race([
        server.stop().then(() => "stopped"),
        new Promise((r) => setTimeout(() => r("still waiting after 10 s"), 10_000)),
      ]);

      // Assess
      expect(outcome).toBe("stopped");
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
