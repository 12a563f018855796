/**
 * The floor of the drain scenario: ours' own worker SQL (jobs_claim, jobs_finish) driven by the
 * thinnest loop that can drive it, with no Nest, handler runner, metrics, heartbeat or attempt
 * bookkeeping. A claim of up to CLAIM rows and a finish of every row claimed before it run side by
 * side on two connections, with at most HELD rows claimed and not yet finished, the service's
 * defaults (JOBS_CONCURRENCY 10: a buffer of up to 1,010, finishes of up to 500). Runs as a child
 * process (plain node, see child.ts) and starts on the bench's `go`, once its backlog is waiting.
 */
import { Pool } from 'pg';
import { arrayLiteral } from '../../libs/database/src/array-literal';
import { childChannel } from './child-side';
import type { ToChild } from './child-side';

const CLAIM = 500;
const HELD = 1000;

interface Claimed {
  id: string;
  lease_token: string;
}

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  let stopping = false;
  const claimed: Claimed[] = [];
  let held = 0;
  /** Wakes whichever loop waits for the other. */
  let wake: () => void = () => undefined;
  const waitForTheOther = () => new Promise<void>((resolve) => (wake = resolve));

  const claimer = async () => {
    while (!stopping) {
      if (held + CLAIM > HELD) {
        await waitForTheOther();
        continue;
      }
      const { rows } = await pool.query<Claimed>('SELECT id, lease_token FROM jobs_claim($1, $2, $3, $4)', [
        ['noop'],
        CLAIM,
        300,
        'bare-drain',
      ]);
      if (rows.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      held += rows.length;
      claimed.push(...rows);
      wake();
    }
  };

  const finisher = async () => {
    while (!stopping) {
      const rows = claimed.splice(0);
      if (rows.length === 0) {
        await waitForTheOther();
        continue;
      }
      // In id order, as JobStore.finish sends them.
      rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const now = String(Date.now());
      const each = (value: string | null) => arrayLiteral(rows.map(() => value));
      await pool.query(
        `SELECT job_id FROM jobs_finish($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::jsonb[],
           $6::text[], $7::text[], $8::float8[], $9::int[], $10::smallint[], $11::text[],
           $12::float8[], $13::float8[])`,
        [
          arrayLiteral(rows.map((row) => row.id)),
          arrayLiteral(rows.map((row) => row.lease_token)),
          each('succeeded'),
          each('succeeded'),
          each('null'),
          each(null),
          each(null),
          each(null),
          each('0'),
          each('100'),
          each(null),
          each(now),
          each(now),
        ],
      );
      held -= rows.length;
      channel.handled(rows.length);
      wake();
    }
  };

  let loops: Promise<void>[] = [];
  const channel = childChannel(async () => {
    stopping = true;
    wake();
    await Promise.all(loops);
    await pool.end();
  });
  process.on('message', (message: ToChild) => {
    if (message.type === 'go' && loops.length === 0) loops = [claimer(), finisher()];
  });
  await pool.query('SELECT 1');
  channel.ready();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
