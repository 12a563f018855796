import type { MigrationInterface, QueryRunner } from 'typeorm';
import { FINISH_HEAD, FINISH_SETTINGS } from './1796200000000-narrow-queue-tables';
import { FINISH_BODY_NUMBERED } from './1796400000000-attempt-numbers';

/** 1796200000000's head with the three time arrays in epoch milliseconds. */
const EPOCH_HEAD = FINISH_HEAD.replaceAll('timestamptz[]', 'float8[]');

/** The input of migration 1796400000000's body, which read the three times as timestamptz text. */
const TEXT_TIMES_INPUT = `SELECT * FROM unnest(p_ids, p_tokens, p_statuses, p_outcomes, p_results, p_error_codes,
            p_error_messages, p_run_ats, p_unspends, p_progresses, p_progress_messages, p_started_ats,
            p_finished_ats)
          AS v(id, token, status, outcome, result, error_code, error_message, run_at, unspend, progress,
            progress_message, started_at, finished_at)`;

const EPOCH_TIMES_INPUT = `SELECT id, token, status, outcome, result, error_code, error_message,
            to_timestamp(run_ms / 1000) AS run_at, unspend, progress, progress_message,
            to_timestamp(started_ms / 1000) AS started_at, to_timestamp(finished_ms / 1000) AS finished_at
          FROM unnest(p_ids, p_tokens, p_statuses, p_outcomes, p_results, p_error_codes,
            p_error_messages, p_run_ats, p_unspends, p_progresses, p_progress_messages, p_started_ats,
            p_finished_ats)
          AS u(id, token, status, outcome, result, error_code, error_message, run_ms, unspend, progress,
            progress_message, started_ms, finished_ms)`;

if (!FINISH_BODY_NUMBERED.includes(TEXT_TIMES_INPUT)) {
  throw new Error('migration 1796500000000: the body of 1796400000000 no longer reads its input as expected');
}
const FINISH_BODY_EPOCH = FINISH_BODY_NUMBERED.replace(TEXT_TIMES_INPUT, EPOCH_TIMES_INPUT);

/**
 * jobs_finish takes an attempt's times (started, finished, next run) as epoch milliseconds
 * (float8), as jobs_claim hands them out, instead of ISO-8601 text (issue 6). Parsing that text
 * cost PostgreSQL ~0.5 µs per time (100,000 of them cast from an array: 88 against 37 ms), two or
 * three per finished job, and formatting it ~3 % of the worker's CPU on a drain of noop jobs
 * (profile). The same body otherwise, under a new signature. The old one stays: a replica of an
 * earlier version still calls it during a rolling deploy (every call casts its arguments, so each
 * version finds its own).
 */
export class FinishEpochTimes1796500000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    // PL/pgSQL, as migration 1796300000000 makes it: its result columns must not shadow the tables'.
    await q.query(`CREATE FUNCTION ${EPOCH_HEAD} LANGUAGE plpgsql ${FINISH_SETTINGS}
      AS $$ #variable_conflict use_column
      BEGIN RETURN QUERY ${FINISH_BODY_EPOCH}; END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The head up to its result: the function's name and arguments, which is what DROP takes.
    await q.query(`DROP FUNCTION ${EPOCH_HEAD.slice(0, EPOCH_HEAD.indexOf('RETURNS'))}`);
  }
}
