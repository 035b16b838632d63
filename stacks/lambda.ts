/**
 * How one topology function becomes a NodejsFunction: built as `bench/bundle.ts` builds it (the
 * bundle the size budget measures), run as `lambdaRuntime` says. Everything here comes from
 * infra/topology.ts; nothing is decided twice.
 */
import { fileURLToPath } from "node:url";
import { Duration } from "aws-cdk-lib";
import { Architecture, Runtime } from "aws-cdk-lib/aws-lambda";
import {
  type BundlingOptions,
  type NodejsFunctionProps,
  OutputFormat,
  SourceMapMode,
} from "aws-cdk-lib/aws-lambda-nodejs";
import { type LambdaFunction, lambdaRuntime } from "../infra/topology.ts";

/** The topology names the runtime and architecture as Lambda does; CDK has a constant for each. */
const runtimes = { "nodejs24.x": Runtime.NODEJS_24_X } as const;
const architectures = { arm64: Architecture.ARM_64, x86_64: Architecture.X86_64 } as const;
const formats = { esm: OutputFormat.ESM, cjs: OutputFormat.CJS } as const;

/** The repository root: entries, the lock file and esbuild's working directory are under it. */
export const repoRoot = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");

export const runtime: Runtime = runtimes[lambdaRuntime.runtime];
export const architecture: Architecture = architectures[lambdaRuntime.architecture];

/** `nodejs24.x` -> `node24`: the esbuild target of the runtime, as bench/bundle.ts sets it. */
const esbuildTarget = lambdaRuntime.runtime.replace(/^nodejs(\d+)\.x$/, "node$1");

export const bundling: BundlingOptions = {
  format: formats[lambdaRuntime.format],
  minify: lambdaRuntime.minify,
  sourceMap: lambdaRuntime.sourcemap,
  // A .map file beside the bundle (not inline): the code Lambda loads stays as small as the budget
  // measured, and --enable-source-maps (environmentFor) reads the file only when a stack is printed.
  sourceMapMode: SourceMapMode.DEFAULT,
  target: esbuildTarget,
  externalModules: [...lambdaRuntime.external],
  define: { ...lambdaRuntime.define },
  banner: lambdaRuntime.banner,
  esbuildArgs: { "--legal-comments": lambdaRuntime.legalComments },
};

/** A handler `<file>.<export>` -> entry `<file>.ts`, handler `<export>`. */
export function entryOf(handler: string): { entry: string; exportName: string } {
  const dot = handler.lastIndexOf(".");
  if (dot <= 0 || handler.lastIndexOf("/") > dot) {
    throw new Error(`Handler "${handler}" is not "<file path>.<export name>"`);
  }
  return { entry: `${handler.slice(0, dot)}.ts`, exportName: handler.slice(dot + 1) };
}

/** The props every function shares; the stack adds its role, log group and environment. */
export function functionProps(fn: LambdaFunction, repoRoot: string): NodejsFunctionProps {
  const { entry, exportName } = entryOf(fn.handler);
  return {
    entry: `${repoRoot}/${entry}`,
    handler: exportName,
    projectRoot: repoRoot,
    depsLockFilePath: `${repoRoot}/package-lock.json`,
    runtime,
    architecture,
    timeout: Duration.seconds(fn.timeoutSeconds),
    memorySize: fn.memoryMb,
    bundling:
      fn.nodeModules.length > 0 ? { ...bundling, nodeModules: [...fn.nodeModules] } : bundling,
    description: `flashstock ${fn.name}: ${fn.handler}`,
    ...(fn.reservedConcurrency !== undefined
      ? { reservedConcurrentExecutions: fn.reservedConcurrency }
      : {}),
  };
}
