/**
 * infra/topology.ts is the one description of the system: the local runtime, the SST definitions
 * and the CDK stack read it and none repeats it. Repeating shows up as a literal from the topology
 * (a route path, a handler file, a queue or rule name, a schedule) in one of their sources.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { busRules, queues, routes, schedules } from "../topology.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

function sources(dir: string): string[] {
  const abs = join(repoRoot, dir);
  if (statSync(abs).isFile()) return [dir];
  return readdirSync(abs, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.includes("test"))
    .map((f) => relative(repoRoot, join(abs, f)));
}

const consumers = {
  "the local runtime": sources("packages/local/src"),
  "the SST definitions": ["sst.config.ts", "infra/sst.ts", "infra/sst-plan.ts"],
  "the CDK stack": sources("stacks"),
};

/** Literals that only the topology should spell out. */
const topologyLiterals = [
  // "/" and "/health" are also what any code splitting or probing a URL writes.
  ...routes.filter((r) => r.path !== "/health" && r.path !== "/").map((r) => `"${r.path}"`),
  ...routes.map((r) => r.handler.slice(0, r.handler.lastIndexOf("."))),
  ...queues.flatMap((q) => [`"${q.name}"`, `${q.name}.fifo`, q.consumer.handler]),
  ...busRules.flatMap((r) => [`"${r.name}"`, r.handler]),
  ...schedules.flatMap((s) => [s.rate, s.handler]),
];

describe("one topology, read by three consumers", () => {
  it.each(Object.entries(consumers))("%s imports infra/topology.ts", (_, files) => {
    // Act
    const importing = files.filter((f) =>
      /from "[./]*(infra\/)?(topology|sst-plan)(\.ts)?"/.test(
        readFileSync(join(repoRoot, f), "utf8"),
      ),
    );

    // Assess
    expect(files.length).toBeGreaterThan(0);
    expect(importing.length, `one of ${files.join(", ")} imports the topology`).toBeGreaterThan(0);
  });

  it.each(Object.entries(consumers))(
    "%s repeats no route, handler, queue, rule or schedule of it",
    (_, files) => {
      // Act
      const repeated = files.flatMap((f) => {
        const text = readFileSync(join(repoRoot, f), "utf8");
        return topologyLiterals
          .filter((literal) => text.includes(literal))
          .map((l) => `${f}: ${l}`);
      });

      // Assess
      expect(repeated).toEqual([]);
    },
  );
});
