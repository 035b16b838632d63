import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = fileURLToPath(new URL("../src/", import.meta.url));

function sourceFiles(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** What each module imports, type-only imports included: a cycle of types is a tangle too. */
function importsOf(file: string): { relative: string[]; packages: string[] } {
  const text = readFileSync(file, "utf8");
  const specifiers = [
    ...text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/gms),
    ...text.matchAll(/import\(\s*"([^"]+)"\s*\)/g),
  ].map((m) => m[1] as string);
  return {
    relative: specifiers.filter((s) => s.startsWith(".")).map((s) => resolve(dirname(file), s)),
    packages: specifiers.filter((s) => !s.startsWith(".")),
  };
}

/** Every cycle, as the chain of files from a module back to itself. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const visit = (node: string, path: string[]) => {
    const at = path.indexOf(node);
    if (at >= 0) return void cycles.push([...path.slice(at), node]);
    if (done.has(node)) return;
    for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
    done.add(node);
  };
  for (const node of graph.keys()) visit(node, []);
  return cycles;
}

describe("the core's modules", () => {
  const files = sourceFiles();
  const graph = new Map(files.map((f) => [f, importsOf(f).relative]));

  it("import each other in one direction only: no cycle, type-only imports included", () => {
    // Act
    const cycles = findCycles(graph).map((c) => c.map((f) => relative(src, f)).join(" -> "));

    // Assess
    expect(files.length).toBeGreaterThan(10);
    expect(cycles).toEqual([]);
  });

  it("finds a cycle when there is one", () => {
    // Prepare
    const tangled = new Map([
      ["db", ["events"]],
      ["events", ["db"]],
      ["order", ["db"]],
    ]);

    // Act + Assess
    expect(findCycles(tangled)).toEqual([["db", "events", "db"]]);
  });

  it("import nothing of AWS, of HTTP frameworks or of the handlers", () => {
    // Act
    const foreign = files.flatMap((f) =>
      importsOf(f)
        .packages.filter((p) =>
          /^(@aws-sdk|aws-lambda|@middy|@aws-lambda-powertools|sst)\b|@flashstock\/(functions|local)/.test(
            p,
          ),
        )
        .map((p) => `${relative(src, f)} imports ${p}`),
    );

    // Assess
    expect(foreign).toEqual([]);
  });
});
