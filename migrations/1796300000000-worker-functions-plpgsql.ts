import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  CLAIM_BODY,
  CLAIM_HEAD,
  CLAIM_SETTINGS,
  FINISH_BODY,
  FINISH_HEAD,
  FINISH_SETTINGS,
} from './1796200000000-narrow-queue-tables';

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
    await q.query(`CREATE OR REPLACE FUNCTION ${CLAIM_HEAD} LANGUAGE plpgsql ${CLAIM_SETTINGS}
      AS $$ BEGIN RETURN QUERY ${CLAIM_BODY}; END $$`);
    // The result columns (job_id, …) are variables in PL/pgSQL; the query must read the tables'.
    await q.query(`CREATE OR REPLACE FUNCTION ${FINISH_HEAD} LANGUAGE plpgsql ${FINISH_SETTINGS}
      AS $$ #variable_conflict use_column
      BEGIN RETURN QUERY ${FINISH_BODY}; END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE OR REPLACE FUNCTION ${CLAIM_HEAD} LANGUAGE sql ${CLAIM_SETTINGS} AS $$${CLAIM_BODY}$$`,
    );
    await q.query(
      `CREATE OR REPLACE FUNCTION ${FINISH_HEAD} LANGUAGE sql ${FINISH_SETTINGS} AS $$${FINISH_BODY}$$`,
    );
  }
}
