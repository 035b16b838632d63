import { mkdir, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

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
 * Bundles one handler file as it is deployed: esbuild, ESM, minified, for Node 24, with the AWS SDK
 * left out because the Lambda nodejs24.x runtime provides it (CDK's NodejsFunction does the same).
 */
export async function bundleHandlerFile(file: string, outdir: string): Promise<Bundle> {
  await mkdir(outdir, { recursive: true });
  const outfile = resolve(outdir, `${file.replace(/\W+/g, "_")}.mjs`);
  const { metafile } = await build({
    entryPoints: [resolve(repoRoot, `${file}.ts`)],
    outfile,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node24",
    external: ["@aws-sdk/*", "pg-native"],
    // The cloud reaches Neon over WebSocket: node-postgres is dead code there (see db/index.ts).
    define: { "process.env.FLASHSTOCK_BUNDLED_DRIVER": '"neon"' },
    // CommonJS dependencies (pg) call require(); an ESM bundle needs one.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    // Licence texts go to a .LEGAL.txt beside the bundle instead of into the code Lambda loads.
    legalComments: "external",
    logLevel: "error",
    metafile: true,
  });
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint);
  return { file, outfile, bytes: (await stat(outfile)).size, exports: output?.exports ?? [] };
}
