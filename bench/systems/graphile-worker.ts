/**
 * graphile-worker at its best measured setting on a 2-core machine (see
 * graphile-worker.settings.ts). The worker runs in graphile-worker.worker.ts; this side submits
 * with addJobs() (bulk) and addJob() (one).
 */
import { join } from 'node:path';
import { Logger, makeWorkerUtils } from 'graphile-worker';
import { createDatabase, DEFAULT_DATABASE_URL } from '../support/database';
import { quietLogger, TASK, WORKER_OPTIONS } from './graphile-worker.settings';
import { PeerSession } from './peer-session';
import { sendInBatches, type System } from './system';

export const graphileWorker: System = {
  name: 'graphile-worker',
  settings: `preset.worker ${JSON.stringify(WORKER_OPTIONS)}`,
  async open(context) {
    const database = await createDatabase(context.databaseUrl ?? DEFAULT_DATABASE_URL, 'graphile');
    try {
      const utils = await makeWorkerUtils({
        connectionString: database.url,
        maxPoolSize: 4,
        logger: quietLogger(Logger),
      });
      await utils.migrate();
      const client = {
        async insert(count: number) {
          await sendInBatches(count, context.enqueueInFlight, async (size) => {
            await utils.addJobs(Array.from({ length: size }, () => ({ identifier: TASK, payload: {} })));
          });
        },
        async submitOne() {
          await utils.addJob(TASK, {});
        },
        // Completed jobs are deleted; whatever is left is unfinished.
        unfinished: () =>
          utils.withPgClient(async (pg) => {
            const { rows } = await pg.query<{ n: number }>(
              'SELECT count(*)::int AS n FROM graphile_worker._private_jobs',
            );
            return rows[0].n;
          }),
        close: async () => {
          await utils.release();
        },
      };
      return new PeerSession(
        client,
        join(__dirname, 'graphile-worker.worker.ts'),
        database.url,
        database.drop,
      );
    } catch (error) {
      await database.drop();
      throw error;
    }
  },
};
