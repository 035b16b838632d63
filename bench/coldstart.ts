import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { busRules, queues, routes, schedules } from "../infra/topology.ts";
import { bundleHandlerFile } from "./bundle.ts";

const run = promisify(execFile);

export interface ColdStart {
  file: string;
  /** `reference`: HTTP routes of the API's own documentation, on no shopper's path. */
  kind: "http" | "reference" | "queue" | "bus" | "schedule";
  bytes: number;
  /** Median time to import the bundle in a fresh Node process. */
  importMs: number;
}

const fileOf = (handler: string) => handler.slice(0, handler.lastIndexOf("."));

const exportOf = (handler: string) => handler.slice(handler.lastIndexOf(".") + 1);

export interface HandlerFile {
  file: string;
  kind: ColdStart["kind"];
  /** The exports of this file that the topology names as handlers. */
  handlers: string[];
}

/** Every handler file the topology names, once, with the kind of trigger behind it. */
export function handlerFiles(): HandlerFile[] {
  const files = new Map<string, HandlerFile>();
  const add = (handler: string, kind: ColdStart["kind"]) => {
    const file = fileOf(handler);
    const entry = files.get(file) ?? { file, kind, handlers: [] };
    entry.handlers.push(exportOf(handler));
    files.set(file, entry);
  };
  for (const r of routes) add(r.handler, "audience" in r ? r.audience : "http");
  for (const q of queues) add(q.consumer.handler, "queue");
  for (const b of busRules) add(b.handler, "bus");
  for (const s of schedules) add(s.handler, "schedule");
  return [...files.values()];
}

/** What Lambda does at a cold start, less the runtime's own start: import the handler module. */
async function importTime(bundle: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(bundle)}); console.log(performance.now() - t);`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script]);
  return Number(stdout.trim());
}

export async function measureColdStarts(options: { outdir: string; runs?: number }) {
  const results: ColdStart[] = [];
  for (const { file, kind } of handlerFiles()) {
    const bundle = await bundleHandlerFile(file, options.outdir);
    const times: number[] = [];
    for (let i = 0; i < (options.runs ?? 5); i++) times.push(await importTime(bundle.outfile));
    times.sort((a, b) => a - b);
    results.push({
      file,
      kind,
      bytes: bundle.bytes,
      importMs: times[Math.floor(times.length / 2)] as number,
    });
  }
  return results;
}
