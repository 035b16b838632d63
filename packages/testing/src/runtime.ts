import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

export interface RunningRuntime {
  url: string;
  child: ChildProcess;
  /** SIGINT, as Ctrl-C; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Everything it printed so far. */
  output(): string;
}

/**
 * Runs what `npm start` runs, in a child process with the given environment on top of this one's,
 * and resolves once it prints its URL (or rejects with its output if it exits first).
 */
export async function startLocalRuntime(
  env: Record<string, string>,
  options: { nodeArgs?: string[] } = {},
): Promise<RunningRuntime> {
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), "--import", "tsx", "packages/local/src/main.ts"],
    // The API alone unless a test asks for the web UI (WEB_PORT): runtimes started side by side
    // would all take its default port.
    {
      cwd: repoRoot,
      env: { ...process.env, WEB_PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (d) => {
      output += d;
      const m = /running at (http:\/\/\S+)/.exec(output);
      if (m?.[1]) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise<number | null>((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => resolve(code));
        child.kill("SIGINT");
      }),
    output: () => output,
  };
}
