import { mkdir, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { lambdaFunctions, lambdaRuntime } from "../infra/topology.ts";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));

export interface Bundle {
  /** The topology handler file, e.g. packages/functions/src/http/checkout */
  file: string;
  outfile: string;
  bytes: number;
  /** The bundle's exports, from esbuild's metafile: the handler functions Lambda will call. */
  exports: string[];
}

/**
 * Bundles one handler file as it is deployed: with the build settings SST and CDK take from
 * `lambdaRuntime` in infra/topology.ts (ESM, minified, the AWS SDK left to the runtime, Neon only),
 * and the function's installed node modules left out as SST's `install` and CDK's `nodeModules` do.
 */
export async function bundleHandlerFile(file: string, outdir: string): Promise<Bundle> {
  await mkdir(outdir, { recursive: true });
  // Packages installed beside the bundle (stripe) are imported at run time, not bundled.
  const installed = lambdaFunctions()
    .filter((fn) => fn.handler.startsWith(`${file}.`))
    .flatMap((fn) => fn.nodeModules);
  const outfile = resolve(outdir, `${file.replace(/\W+/g, "_")}.mjs`);
  const { metafile } = await build({
    entryPoints: [resolve(repoRoot, `${file}.ts`)],
    outfile,
    bundle: true,
    minify: lambdaRuntime.minify,
    format: lambdaRuntime.format,
    platform: "node",
    target: "node24",
    external: [...new Set([...lambdaRuntime.external, ...installed])],
    define: { ...lambdaRuntime.define },
    banner: { js: lambdaRuntime.banner },
    legalComments: lambdaRuntime.legalComments,
    logLevel: "error",
    metafile: true,
  });
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint);
  return { file, outfile, bytes: (await stat(outfile)).size, exports: output?.exports ?? [] };
}
