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
    // Read when the logger module loads, before any test hook runs. Tests register many customers
    // over HTTP from one address: they raise that limit rather than spoof addresses
    // (throttle.test.ts sets its own limits).
    env: { POWERTOOLS_LOG_LEVEL: "SILENT", REGISTRATIONS_PER_ADDRESS_PER_HOUR: "100000" },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
