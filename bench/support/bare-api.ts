/**
 * The local ceiling and floors of the API-facing scenarios: bare Fastify and a pg Pool (the
 * service's pool size) on the same database, with no auth, validation, mapping or hooks. Runs as a
 * child process (plain node, see child.ts), like the service.
 * - GET /v1/jobs/:id, the API scenario's ceiling: the same row of the same table.
 * - POST /v1/jobs, the pickup scenario's floor: one row into the same jobs table, committed
 *   (durably, as PostgreSQL does by default) before the answer, which is the least a service can
 *   do between a submit arriving and a handler it starts on the insert's result.
 * - POST /v1/jobs/batch, the enqueue's floor: what any service answering the contract must do
 *   for a batch, with ours' tables (support/bare-enqueue.ts).
 */
import Fastify from 'fastify';
import { Pool } from 'pg';
import { bareBatch } from './bare-enqueue';
import { childChannel } from './child-side';

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  const app = Fastify({ logger: false });
  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (req, reply) => {
    const { rows } = await pool.query('SELECT * FROM jobs WHERE id = $1', [req.params.id]);
    if (rows.length === 0) return reply.code(404).send({ status: 404 });
    return rows[0];
  });
  const owner = (await pool.query<{ id: string }>('SELECT id FROM users LIMIT 1')).rows[0]?.id;
  app.post<{ Body: { type: string; payload: unknown } }>('/v1/jobs', async (req, reply) => {
    const { rows } = await pool.query(
      `INSERT INTO jobs (type, payload, max_attempts, timeout_seconds, backoff_base_seconds,
         backoff_max_seconds, owner_id)
       VALUES ($1, $2, 3, 60, 1, 60, $3) RETURNING *`,
      [req.body.type, JSON.stringify(req.body.payload ?? {}), owner],
    );
    return reply.code(202).send(rows[0]);
  });
  app.post<{ Body: { jobs: { type: string; payload: unknown }[] } }>('/v1/jobs/batch', async (req, reply) =>
    reply.code(202).send(await bareBatch(pool, owner, req.body.jobs)),
  );
  const channel = childChannel(async () => {
    await app.close();
    await pool.end();
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  channel.ready(typeof address === 'object' && address ? address.port : undefined);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
