import { defineConfig } from "vitest/config";

/**
 * npm run test:chaos: the reliability scenarios too long for npm test (a 60-second load, say). The
 * same Postgres and SES emulator as npm test (one server per run, one database per file).
 */
export default defineConfig({
  test: {
    include: ["packages/*/chaos/**/*.test.ts"],
    globalSetup: ["packages/testing/src/global-setup.ts"],
    pool: "forks",
    // One scenario at a time: each one means to use the whole machine.
    fileParallelism: false,
    reporters: ["default", "./packages/testing/src/summary-reporter.ts"],
    // Read when the logger module loads, before any test hook runs.
    env: { POWERTOOLS_LOG_LEVEL: "SILENT" },
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
