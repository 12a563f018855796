/**
 * Wraps `task` so that at most one run is in flight, and concurrent callers share runs: a caller
 * arriving while a run is in flight gets the next run, which starts when that one ends and serves
 * everyone who arrived meanwhile. Every caller still gets a result computed after it called, so
 * nothing is stale; what changes is that a burst of N callers costs two runs instead of N.
 */
export function coalesced<T>(task: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  let next: Promise<T> | undefined;

  const start = (): Promise<T> => {
    const run = task();
    running = run;
    const clear = () => {
      if (running === run) running = undefined;
    };
    run.then(clear, clear);
    return run;
  };

  return () => {
    if (next) return next;
    if (!running) return start();
    next = running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        next = undefined;
        return start();
      });
    return next;
  };
}
