/**
 * The local ceiling for the API scenario: bare Fastify and a pg Pool (the service's pool size)
 * answering GET /v1/jobs/:id from the same row of the same database, with no auth, validation,
 * mapping or hooks. Runs as a child process (plain node, see child.ts), like the service.
 */
import Fastify from 'fastify';
import { Pool } from 'pg';
import { childChannel } from './child-side';

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  const app = Fastify({ logger: false });
  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (req, reply) => {
    const { rows } = await pool.query('SELECT * FROM jobs WHERE id = $1', [req.params.id]);
    if (rows.length === 0) return reply.code(404).send({ status: 404 });
    return rows[0];
  });
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
