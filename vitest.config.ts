import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "packages/*/test/**/*.test.ts",
      "infra/test/**/*.test.ts",
      "stacks/test/**/*.test.ts",
    ],
    globalSetup: ["packages/testing/src/global-setup.ts"],
    pool: "forks",
    // Two files at a time on two cores: the tests mostly wait on Postgres and child processes, and
    // every scenario is sized by work with limits that hold on a loaded machine (5 min -> 3.3 min).
    maxWorkers: 2,
    reporters: ["default", "./packages/testing/src/summary-reporter.ts"],
    // Read when the logger module loads, before any test hook runs.
    env: { POWERTOOLS_LOG_LEVEL: "SILENT" },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
