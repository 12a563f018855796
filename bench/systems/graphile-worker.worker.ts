/** graphile-worker's worker process (plain node, forked by graphile-worker.ts through support/child.ts). */
import { Logger, run } from 'graphile-worker';
import { childChannel } from '../support/child-side';
import { quietLogger, TASK, WORKER_OPTIONS } from './graphile-worker.settings';

async function main(): Promise<void> {
  // Created before run(): the backlog is already waiting, so jobs start before run() resolves.
  // A stop message only comes after ready, once `runner` is set.
  const channel = childChannel(() => runner.stop());
  const runner = await run({
    noHandleSignals: true,
    logger: quietLogger(Logger),
    taskList: {
      [TASK]: () => {
        channel.started();
        channel.handled(1);
        return Promise.resolve();
      },
    },
    preset: { worker: { connectionString: process.env.DATABASE_URL, ...WORKER_OPTIONS } },
  });
  channel.ready();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
