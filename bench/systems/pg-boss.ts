/**
 * pg-boss at its best measured setting on a 2-core machine: a batch handler (its per-job handler
 * is poll-bound at ~100-2,000 jobs/s) and LISTEN/NOTIFY for pickups. The worker runs in
 * pg-boss.worker.ts; this side submits with insert() (bulk) and send() (one).
 */
import { join } from 'node:path';
import { PgBoss } from 'pg-boss';
import { Client } from 'pg';
import { createDatabase, DEFAULT_DATABASE_URL } from '../support/database';
import { PeerSession } from './peer-session';
import { QUEUE, WORK_OPTIONS } from './pg-boss.settings';
import { sendInBatches, type System } from './system';

export const pgBoss: System = {
  name: 'pg-boss',
  settings: `work(${JSON.stringify(WORK_OPTIONS)}), useListenNotify: true, queue notify: true`,
  async open(context) {
    const database = await createDatabase(context.databaseUrl ?? DEFAULT_DATABASE_URL, 'pgboss');
    try {
      // The submitter only sends: no maintenance or cron loops competing with the worker.
      const boss = new PgBoss({ connectionString: database.url, supervise: false, schedule: false, max: 4 });
      boss.on('error', (error) => console.error('pg-boss (submitter):', error));
      await boss.start();
      await boss.createQueue(QUEUE, { notify: true });
      const sql = new Client({ connectionString: database.url });
      await sql.connect();
      const client = {
        async insert(count: number) {
          await sendInBatches(count, context.enqueueInFlight, async (size) => {
            await boss.insert(
              QUEUE,
              Array.from({ length: size }, () => ({ data: {} })),
            );
          });
        },
        async submitOne() {
          await boss.send(QUEUE, {});
        },
        async unfinished() {
          const { rows } = await sql.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state <> 'completed'`,
            [QUEUE],
          );
          return rows[0].n;
        },
        async close() {
          await boss.stop({ graceful: false, close: true });
          await sql.end();
        },
      };
      return new PeerSession(client, join(__dirname, 'pg-boss.worker.ts'), database.url, database.drop);
    } catch (error) {
      await database.drop();
      throw error;
    }
  },
};
