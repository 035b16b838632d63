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
    reporters: ["default", "./packages/testing/src/summary-reporter.ts"],
    // Read when the logger module loads, before any test hook runs.
    env: { POWERTOOLS_LOG_LEVEL: "SILENT" },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
