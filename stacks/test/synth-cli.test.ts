/**
 * `npx cdk synth`, as a CDK user runs it: the CLI from package.json, the app from cdk.json, real
 * esbuild bundling, no AWS credentials and no AWS (the packages installed beside some bundles come
 * from the npm registry, as at deploy time).
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { lambdaFunctions, routes, web } from "../../infra/topology.ts";
import { runCommand } from "../../packages/testing/src/command.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const outdirs: string[] = [];
afterAll(async () => {
  for (const dir of outdirs) await rm(dir, { recursive: true, force: true });
});

function cdk(args: string[]) {
  // No credentials, and nowhere to send them: synthesis must not need either.
  const env = { ...process.env, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_PROFILE: "" };
  return runCommand(join(repoRoot, "node_modules/.bin/cdk"), args, env);
}

describe("npx cdk synth", () => {
  it("synthesises the stack offline, with a bundled asset per handler file, every route and the web UI's files", async () => {
    // Prepare
    const outdir = await mkdtemp(join(tmpdir(), "cdk-out-"));
    outdirs.push(outdir);

    // Act
    const result = await cdk(["synth", "--quiet", "-c", "stage=ci", "-o", outdir]);

    // Assess
    expect(result.code, result.out).toBe(0);
    const template = JSON.parse(
      await readFile(join(outdir, "Flashstock-ci.template.json"), "utf8"),
    );
    const resources = Object.values(template.Resources) as {
      Type: string;
      Properties: { RouteKey?: string; SourceObjectKeys?: string[]; Runtime?: string };
    }[];
    const ofType = (type: string) => resources.filter((r) => r.Type === type);
    // Every topology function, and the one that copies the web UI into its bucket (CDK's, Python).
    const functions = ofType("AWS::Lambda::Function");
    expect(functions).toHaveLength(lambdaFunctions().length + 1);
    expect(functions.filter((f) => !f.Properties.Runtime?.startsWith("nodejs"))).toHaveLength(1);
    expect(
      ofType("AWS::ApiGatewayV2::Route")
        .map((r) => r.Properties.RouteKey)
        .sort(),
    ).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    // One asset per handler file and set of packages installed beside it: functions of one file
    // that install different packages are built apart.
    const builds = new Set(
      lambdaFunctions().map((f) => `${f.handler.replace(/\.\w+$/, "")}|${f.nodeModules.join()}`),
    );
    const assets = (await readdir(outdir)).filter((f) => f.startsWith("asset."));
    const isBundle = async (a: string) =>
      (await readdir(join(outdir, a)).catch(() => [] as string[])).includes("index.mjs");
    const bundles = (
      await Promise.all(assets.map(async (a) => ((await isBundle(a)) ? [a] : [])))
    ).flat();
    expect(bundles).toHaveLength(builds.size);
    // The web UI: the hashed assets, the rest of the build, and config.json for the API's URL.
    const webSources = ofType("Custom::CDKBucketDeployment")
      .flatMap((d) => d.Properties.SourceObjectKeys ?? [])
      .map((key) => `asset.${key.replace(/\.zip$/, "")}`);
    const webFiles = await Promise.all(webSources.map((a) => readdir(join(outdir, a))));
    expect(webFiles.flat()).toEqual(
      expect.arrayContaining([web.indexDocument, web.configFile, expect.stringMatching(/\.js$/)]),
    );
    // The functions that score passwords carry zxcvbn's dictionaries beside their bundles.
    const beside = await Promise.all(
      bundles.map((a) => readdir(join(outdir, a, "node_modules/@zxcvbn-ts")).catch(() => [])),
    );
    expect(beside.filter((names) => names.length > 0)).toEqual(
      Array(3).fill(expect.arrayContaining(["core", "language-common", "language-en"])),
    );
    // Bundling installs each function's node modules (swagger-ui-dist, stripe) with npm, one
    // asset at a time: 50-60 s on a loaded 2-core machine, so the limit leaves it room.
  }, 240_000);
});
