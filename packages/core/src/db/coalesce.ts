/**
 * Group commit for work that any later run covers: callers that arrive while a run is in flight
 * share the next run, which starts after the current one ends, so each caller is covered by a run
 * that began after it called. Under concurrency N callers cost about one run per run's latency;
 * alone (a Lambda serves one request at a time) each caller gets a run of its own, as before.
 */
export function coalesced<R = void>(run: () => Promise<R>): () => Promise<R> {
  let current: Promise<R> | undefined;
  let next: Promise<R> | undefined;
  const start = () => {
    current = run().finally(() => {
      current = undefined;
    });
    return current;
  };
  return () => {
    if (!current) return start();
    next ??= current
      .catch(() => {})
      .then(() => {
        next = undefined;
        return start();
      });
    return next;
  };
}

/** One `make(key)` per key (a database pool, say), made on first use and kept with the key. */
export function perKey<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>();
  return (key) => {
    let value = made.get(key);
    if (value === undefined) {
      value = make(key);
      made.set(key, value);
    }
    return value;
  };
}

/**
 * Like coalesced, for runs that take the items gathered since the last run began. Each caller's
 * items are in the run it waits for, and it gets that run's result.
 */
export function batched<T, R = void>(
  run: (items: T[]) => Promise<R>,
): (items: readonly T[]) => Promise<R> {
  let pending: T[] = [];
  // Never empty: a run only starts for a caller that has just added its items.
  const flush = coalesced(() => {
    const items = pending;
    pending = [];
    return run(items);
  });
  return (items) => {
    pending.push(...items);
    return flush();
  };
}
