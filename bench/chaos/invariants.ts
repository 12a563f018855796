import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';
import type { JobTarget } from '../../test/support/job-target';

export interface Tally {
  jobs: number;
  lost: number;
  duplicatedCompletions: number;
  rerunsAfterLeaseExpiry: number;
  interrupted: number;
}

/**
 * The promises the campaign checks after each trial, over every job of the campaign so far,
 * read straight from the store (CONTRACT §1, §5, §6). Each broken promise is one message.
 */
export async function checkInvariants(
  db: Client,
  target: JobTarget,
  accepted: string[],
): Promise<{ tally: Tally; violations: string[] }> {
  const violations: string[] = [];
  const { rows: jobs } = await db.query<{
    id: string;
    type: string;
    status: string;
    leaseToken: string;
    expired: boolean;
    queueRows: number;
    leaseRows: number;
    outcomes: string[];
    tokens: string[];
  }>(
    `SELECT j.id, j.type, j.status, j.lease_token AS "leaseToken",
       (j.status = 'running' AND l.expires_at < now()) AS expired,
       (SELECT count(*)::int FROM job_queue q WHERE q.id = j.id) AS "queueRows",
       count(DISTINCT l.id)::int AS "leaseRows",
       coalesce(array_agg(a.outcome ORDER BY a.finished_at) FILTER (WHERE a.job_id IS NOT NULL), '{}') AS outcomes,
       coalesce(array_agg(a.lease_token::text) FILTER (WHERE a.job_id IS NOT NULL), '{}') AS tokens
     FROM jobs j LEFT JOIN job_leases l ON l.id = j.id LEFT JOIN job_attempts a ON a.job_id = j.id
     GROUP BY j.id, l.expires_at`,
  );
  const byId = new Map(jobs.map((job) => [job.id, job]));
  const calls = target.counts();
  const tally: Tally = {
    jobs: jobs.length,
    lost: 0,
    duplicatedCompletions: 0,
    rerunsAfterLeaseExpiry: 0,
    interrupted: 0,
  };

  for (const id of accepted) {
    const job = byId.get(id);
    if (!job) violations.push(`lost: accepted job ${id} is not in the store`);
    else if (!['succeeded', 'failed', 'cancelled'].includes(job.status))
      violations.push(`lost: accepted job ${id} is still ${job.status} after recovery`);
    else continue;
    tally.lost += 1;
  }
  for (const job of jobs) {
    // A succeeded attempt is recorded on the job row alone (migration 1796000000000): it is the
    // job's last attempt, under its current lease; every other attempt has a history row.
    const outcomes = job.status === 'succeeded' ? [...job.outcomes, 'succeeded'] : job.outcomes;
    const succeeded = outcomes.filter((o) => o === 'succeeded').length;
    tally.rerunsAfterLeaseExpiry += job.outcomes.filter((o) => o === 'lease_expired').length;
    tally.interrupted += job.outcomes.filter((o) => o === 'interrupted').length;
    if (job.expired) violations.push(`job ${job.id} is running with an expired lease after recovery`);
    // A job is in job_queue exactly while queued and in job_leases exactly while running
    // (migration 1796200000000).
    if (job.queueRows !== (job.status === 'queued' ? 1 : 0))
      violations.push(`job ${job.id} is ${job.status} with ${job.queueRows} job_queue row(s)`);
    if (job.leaseRows !== (job.status === 'running' ? 1 : 0))
      violations.push(`job ${job.id} is ${job.status} with ${job.leaseRows} job_leases row(s)`);
    if (succeeded > 1) {
      tally.duplicatedCompletions += 1;
      violations.push(`job ${job.id} completed ${succeeded} times: ${outcomes.join(', ')}`);
    }
    // The success is the attempt under the job's current lease, so no other end of that attempt
    // may be on record.
    if (job.status === 'succeeded' && job.tokens.some((token) => BigInt(token) >= BigInt(job.leaseToken)))
      violations.push(
        `job ${job.id} succeeded, but its current attempt also ended otherwise: ${outcomes.join(', ')}`,
      );
    // Each attempt (lease token) makes at most one call and ends in exactly one record.
    const made = calls.get(job.id) ?? 0;
    if (job.type === 'http' && made > outcomes.length)
      violations.push(`job ${job.id} made ${made} calls in ${outcomes.length} attempts`);
    if (job.type === 'http' && job.status === 'succeeded' && made === 0)
      violations.push(`job ${job.id} succeeded without its call`);
  }
  violations.push(...(await unaudited(db)));
  return { tally, violations };
}

/** A mutation and its audit row commit together: every job has a job.created row naming it. */
async function unaudited(db: Client): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `WITH audited AS (
       SELECT resource_id AS id FROM audit_logs WHERE action = 'job.created' AND success AND resource_id IS NOT NULL
       UNION
       SELECT jsonb_array_elements_text(changes -> 'jobIds' -> 'after') FROM audit_logs
       WHERE action = 'job.created' AND success AND changes ? 'jobIds'
     )
     SELECT j.id FROM jobs j WHERE j.id::text NOT IN (SELECT id FROM audited WHERE id IS NOT NULL)`,
  );
  return rows.map((row) => `job ${row.id} has no job.created audit row`);
}

/** Waits until no job is queued or running (the campaign's jobs never fail for good); false on timeout. */
export async function untilQuiet(db: Client, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await db.query<{ open: number }>(
      "SELECT count(*)::int AS open FROM jobs WHERE status IN ('queued', 'running')",
    );
    if (rows[0].open === 0) return true;
    await sleep(250);
  }
  return false;
}
