import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Bundle, bundleHandlerFile } from "../../../bench/bundle.ts";
import { type HandlerFile, handlerFiles } from "../../../bench/coldstart.ts";

/**
 * Size budgets of the Lambda bundles, in KB (1024 bytes) of minified code, per trigger kind.
 * What every bundle that reaches the database shares (measured with esbuild's metafile): the Neon
 * driver 143 KB, zod 36 KB (zod/mini; classic zod was 100 KB), the Powertools logger and commons 21 KB; the project's own code
 * adds 15-40 KB. The AWS SDK is not in any bundle: the nodejs24.x runtime provides it.
 */
const budgetKB: Record<HandlerFile["kind"], number> = {
  // A shopper waits for an HTTP cold start: 300 KB keeps import under 60 ms. Measured 221-239 KB.
  http: 300,
  // Queue consumers and the relay hold no shopper waiting: a cold start delays an email or a
  // confirmation by some milliseconds. Measured 226-242 KB; 350 leaves room for more code, and
  // still fails on what would be a mistake: a bundled AWS SDK client (hundreds of KB) or
  // node-postgres beside the Neon driver (+80 KB).
  queue: 350,
  schedule: 350,
  // GET /openapi.json and the reference page: developers and tools read them, no shopper. The
  // bundle carries the OpenAPI document itself (about 128 KB of JSON) beside the usual 270 KB.
  reference: 512,
  // The event log neither queries the database nor validates with zod: 29 KB. 64 KB fails as soon
  // as an import drags in either (the driver alone is 143 KB).
  bus: 64,
};

const files = handlerFiles();
let outdir: string | undefined;
let bundled: Promise<Map<string, Bundle>> | undefined;

/** Bundles every handler file once, all at the same time, for all the tests of this file. */
function bundles(): Promise<Map<string, Bundle>> {
  bundled ??= (async () => {
    outdir = await mkdtemp(join(tmpdir(), "flashstock-bundles-"));
    const dir = outdir;
    const built = await Promise.all(files.map((f) => bundleHandlerFile(f.file, dir)));
    return new Map(built.map((b) => [b.file, b]));
  })();
  return bundled;
}

const kb = (bytes: number) => bytes / 1024;

afterAll(async () => {
  if (bundled) {
    const all = await bundled;
    // The sizes table, for the README.
    const lines = [
      "| handler file | handlers | KB | budget KB |",
      "| --- | --- | ---: | ---: |",
      ...files.map(({ file, kind, handlers }) => {
        const b = all.get(file) as Bundle;
        return `| ${file} | ${handlers.join(", ")} | ${kb(b.bytes).toFixed(1)} | ${budgetKB[kind]} |`;
      }),
    ];
    console.log(lines.join("\n"));
  }
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

describe("the Lambda bundles, built with esbuild as deployed", () => {
  it.each(files)(
    "bundles $file ($kind) within its budget, exporting its handlers",
    async ({ file, kind, handlers }) => {
      // Prepare
      const budget = budgetKB[kind];

      // Act: every file is bundled once, in parallel, on the first test's call
      const bundle = (await bundles()).get(file) as Bundle;

      // Assess
      expect(bundle.exports).toEqual(expect.arrayContaining(handlers));
      expect(kb(bundle.bytes), `${file}: ${kb(bundle.bytes).toFixed(1)} KB`).toBeLessThan(budget);
    },
  );
});
