/**
 * A reliability scenario says what it injected and what it checked, so that a run's output reads as
 * evidence rather than a green tick. One line each, prefixed so that `grep '^\[scenario\]'` on a
 * run's output lists every fault injected and every invariant verified.
 */
export interface ScenarioReport {
  /** The fault or input, with its size: "terminated 37 backends during a 400-buyer sale". */
  injected: string;
  /** The invariants verified afterwards, with the numbers seen. */
  checked: string;
}

export function reportScenario(name: string, report: ScenarioReport): void {
  console.log(`[scenario] ${name}\n  injected: ${report.injected}\n  checked:  ${report.checked}`);
}
