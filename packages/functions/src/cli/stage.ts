/**
 * What the operators' commands share: `--stage <stage>` re-runs the command under
 * `sst shell --stage <stage>`, which makes the stage's links active, so the DatabaseUrl secret is
 * read through Resource as the functions read it; without --stage it reads DATABASE_URL.
 */
import { spawnSync } from "node:child_process";
import { Resource } from "sst/resource";

/** The stage SST links are active for, if any (SST sets SST_RESOURCE_App in `sst shell`). */
function linkedStage(): string | undefined {
  if (!("App" in Resource)) return undefined;
  return (Resource as unknown as { App: { stage?: string } }).App.stage;
}

export function failWith(usage: string) {
  return (message: string): never => {
    console.error(`${message}\n${usage}`);
    process.exit(2);
  };
}

/**
 * Makes sure the stage's links are active: returns when they are (or no stage was asked for),
 * otherwise runs this same command under `sst shell` and exits with its status.
 */
export function enterStage(stage: string | undefined, fail: (message: string) => never): void {
  if (stage !== undefined && !/^[a-z][a-z0-9-]*$/i.test(stage)) fail(`Bad stage name: "${stage}"`);
  const linked = linkedStage();
  if (stage && linked === undefined) {
    const run = spawnSync(
      "npx",
      [
        "sst",
        "shell",
        "--stage",
        stage,
        "--",
        process.execPath,
        ...process.execArgv,
        ...process.argv.slice(1),
      ],
      { stdio: "inherit" },
    );
    process.exit(run.status ?? 1);
  }
  if (stage && linked !== stage) fail(`SST links are for stage "${linked}", not "${stage}"`);
}
