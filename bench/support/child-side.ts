/**
 * The child half of a bench child process (a peer's worker, the bare API): reports over IPC, to
 * the bench process, readiness, the number of jobs handled and, when traced, each handler start.
 * Loaded as plain JavaScript (see child.ts), so it imports nothing heavy.
 */
/** `go`: start working now (the bare drain, which must not start before its clock does). */
export type ToChild = { type: 'ping'; t0: number } | { type: 'go' } | { type: 'stop' };
export type FromChild =
  | { type: 'ready'; port?: number }
  | { type: 'count'; handled: number }
  | { type: 'started'; at: number }
  | { type: 'pong'; t0: number; at: number }
  | { type: 'failed'; message: string };

export interface ChildChannel {
  ready(port?: number): void;
  /** Call at the start of a handler: traced runs report its time (this process's clock). */
  started(): void;
  handled(count: number): void;
  failed(error: unknown): never;
}

export function childChannel(onStop: () => Promise<void>): ChildChannel {
  const send = (message: FromChild) => process.send?.(message);
  const trace = process.env.BENCH_TRACE === '1';
  let handled = 0;
  let reported = 0;
  const report = () => {
    if (handled !== reported) send({ type: 'count', handled: (reported = handled) });
  };
  // A push every 25 ms is cheap next to the work counted and keeps the bench process's view fresh.
  setInterval(report, 25).unref();
  process.on('disconnect', () => process.exit(1));
  process.on('message', (message: ToChild) => {
    if (message.type === 'ping') send({ type: 'pong', t0: message.t0, at: performance.now() });
    if (message.type === 'stop') {
      onStop().then(
        () => {
          report();
          process.exit(0);
        },
        (error: unknown) => channel.failed(error),
      );
    }
  });
  const channel: ChildChannel = {
    ready: (port) => send({ type: 'ready', port }),
    started: () => {
      if (trace) send({ type: 'started', at: performance.now() });
    },
    handled: (count) => {
      handled += count;
    },
    failed: (error) => {
      send({
        type: 'failed',
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
      process.exit(1);
    },
  };
  return channel;
}
