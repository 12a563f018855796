/** pg-boss's worker process (plain node, forked by pg-boss.ts through support/child.ts). */
import { PgBoss } from 'pg-boss';
import { childChannel } from '../support/child-side';
import { QUEUE, WORK_OPTIONS } from './pg-boss.settings';

async function main(): Promise<void> {
  // LISTEN/NOTIFY on the instance, notify on the queue: pickups do not wait for a poll.
  const boss = new PgBoss({ connectionString: process.env.DATABASE_URL, useListenNotify: true });
  const channel = childChannel(() => boss.stop({ graceful: true, timeout: 10_000 }));
  boss.on('error', (error) => console.error('pg-boss (worker):', error));
  await boss.start();
  await boss.work(QUEUE, WORK_OPTIONS, (jobs) => {
    channel.started();
    channel.handled(jobs.length);
    return Promise.resolve();
  });
  channel.ready();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
