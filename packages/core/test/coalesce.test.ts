import { batched, coalesced } from "@flashstock/core/db/coalesce";
import { describe, expect, it } from "vitest";

/** A run that records when it started and finishes when the test says so. */
function controlledRuns() {
  const runs: { startedAt: number; finish: () => void; fail: (e: Error) => void }[] = [];
  let clock = 0;
  const run = () =>
    new Promise<void>((resolve, reject) => {
      runs.push({ startedAt: ++clock, finish: resolve, fail: reject });
    });
  return { runs, run, tick: () => ++clock };
}

const settle = () => new Promise((r) => setImmediate(r));

describe("coalesced: group commit for work a later run covers", () => {
  it("gives a lone caller a run of its own", async () => {
    // Prepare
    const { runs, run } = controlledRuns();
    const flush = coalesced(run);

    // Act
    const first = flush();
    runs[0]?.finish();
    await first;
    const second = flush();
    runs[1]?.finish();
    await second;

    // Assess
    expect(runs).toHaveLength(2);
  });

  it("makes callers that arrive during a run share one later run that starts after they called", async () => {
    // Prepare
    const { runs, run, tick } = controlledRuns();
    const flush = coalesced(run);
    const first = flush();

    // Act: three callers while the first run is in flight
    const calledAt = tick();
    const waiting = [flush(), flush(), flush()];
    runs[0]?.finish();
    await first;
    await settle();
    runs[1]?.finish();
    await Promise.all(waiting);

    // Assess
    expect(runs).toHaveLength(2);
    expect(runs[1]?.startedAt).toBeGreaterThan(calledAt);
  });

  it("rejects the callers of a failed run, and the next caller gets a fresh run", async () => {
    // Prepare
    const { runs, run } = controlledRuns();
    const flush = coalesced(run);
    const failing = flush();

    // Act
    runs[0]?.fail(new Error("connection lost"));
    const outcome = await failing.then(
      () => "ok",
      (e: Error) => e.message,
    );
    const retry = flush();
    runs[1]?.finish();
    await retry;

    // Assess
    expect(outcome).toBe("connection lost");
    expect(runs).toHaveLength(2);
  });
});

describe("batched: one run for the items gathered meanwhile", () => {
  it("hands every item to exactly one run", async () => {
    // Prepare
    const seen: string[][] = [];
    let release: () => void = () => {};
    const mark = batched(async (items: string[]) => {
      seen.push(items);
      if (seen.length === 1) await new Promise<void>((r) => (release = r));
    });

    // Act
    const first = mark(["a"]);
    const later = [mark(["b", "c"]), mark(["d"])];
    release();
    await Promise.all([first, ...later]);

    // Assess
    expect(seen).toEqual([["a"], ["b", "c", "d"]]);
  });

  it("gives each caller the result of the run that took its items", async () => {
    // Prepare: a run that answers which of its items it kept
    let release: () => void = () => {};
    let runs = 0;
    const keep = batched(async (items: string[]) => {
      if (++runs === 1) await new Promise<void>((r) => (release = r));
      return new Set(items.filter((item) => item !== "lost"));
    });

    // Act
    const first = keep(["a"]);
    const later = [keep(["b"]), keep(["lost"])];
    release();
    const results = await Promise.all([first, ...later]);

    // Assess
    expect(results.map((kept) => [...kept])).toEqual([["a"], ["b"], ["b"]]);
  });
});
