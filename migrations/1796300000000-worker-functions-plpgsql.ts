import type { MigrationInterface, QueryRunner } from 'typeorm';
import { CLAIM_BODY, FINISH_BODY } from './1796200000000-narrow-queue-tables';

const CLAIM = `jobs_claim(p_types text[], p_limit integer, p_lease_seconds float8, p_worker text)
  RETURNS SETOF jobs`;
const CLAIM_SETTINGS = `SET enable_sort = off SET enable_bitmapscan = off SET enable_seqscan = off
  SET enable_hashjoin = off SET enable_mergejoin = off`;
const FINISH = `jobs_finish(p_ids uuid[], p_tokens bigint[], p_statuses text[], p_outcomes text[],
    p_results jsonb[], p_error_codes text[], p_error_messages text[], p_run_ats timestamptz[],
    p_unspends int[], p_progresses smallint[], p_progress_messages text[], p_started_ats timestamptz[],
    p_finished_ats timestamptz[])
  RETURNS TABLE (job_id uuid, job_type text, job_status text, job_lease_token bigint)`;
const FINISH_SETTINGS = 'SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off';

/**
 * The worker's two functions run the same queries from PL/pgSQL instead of SQL (issue 6,
 * docs/performance.md). A SQL function's body is parsed and planned again on every call: its plan
 * lives only as long as the statement that called it. That took ~1 ms per call of jobs_finish
 * and ~0.4 of jobs_claim before any row was touched, paid by every claim and every finish of a
 * batch, however small. PL/pgSQL keeps the plan for the session (after the first five calls, one
 * generic plan), still under the functions' pinned planner settings. Replayed alone on a backlog
 * of 100,000 jobs, a claim of 280 and its finish took 10.8-10.9 ms in SQL and 8.1-8.3 ms here.
 */
export class WorkerFunctionsPlpgsql1796300000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE OR REPLACE FUNCTION ${CLAIM} LANGUAGE plpgsql ${CLAIM_SETTINGS}
      AS $$ BEGIN RETURN QUERY ${CLAIM_BODY}; END $$`);
    // The result columns (job_id, …) are variables in PL/pgSQL; the query must read the tables'.
    await q.query(`CREATE OR REPLACE FUNCTION ${FINISH} LANGUAGE plpgsql ${FINISH_SETTINGS}
      AS $$ #variable_conflict use_column
      BEGIN RETURN QUERY ${FINISH_BODY}; END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE OR REPLACE FUNCTION ${CLAIM} LANGUAGE sql ${CLAIM_SETTINGS} AS $$${CLAIM_BODY}$$`);
    await q.query(
      `CREATE OR REPLACE FUNCTION ${FINISH} LANGUAGE sql ${FINISH_SETTINGS} AS $$${FINISH_BODY}$$`,
    );
  }
}
