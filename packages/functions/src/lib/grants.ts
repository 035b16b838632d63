import { AsyncLocalStorage } from "node:async_hooks";
import type { Need } from "../../../../infra/topology.ts";

interface Grant {
  /** The handler, as the topology names it. */
  name: string;
  needs: ReadonlySet<Need>;
}

const current = new AsyncLocalStorage<Grant>();

/**
 * Runs a handler invocation with only what the topology says it needs. The local runtime runs every
 * handler this way, so that reaching past its needs fails on a developer's machine and in the tests
 * as it would in the cloud, where a missing link or IAM statement refuses it. Lambda itself runs no
 * scope here: its role and links are the boundary.
 */
export function withGrants<T>(name: string, needs: readonly Need[], run: () => T): T {
  return current.run({ name, needs: new Set(needs) }, run);
}

/** Throws when the running handler was not granted `need`; does nothing outside a scope. */
export function requireNeed(need: Need, what: string): void {
  const grant = current.getStore();
  if (grant && !grant.needs.has(need)) {
    throw new Error(
      `${grant.name} may not ${what}: its needs in infra/topology.ts lack "${need}" ` +
        `(in the cloud its role and links would refuse it too)`,
    );
  }
}
