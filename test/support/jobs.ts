import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DataSource } from 'typeorm';
import type { Session } from './auth';

export interface JobJson {
  id: string;
  type: string;
  name: string | null;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  priority: number;
  payload: unknown;
  progress: number;
  progressMessage: string | null;
  attempts: number;
  maxAttempts: number;
  runAt: string;
  timeoutSeconds: number;
  idempotencyKey: string | null;
  ownerId: string;
  cancelRequested: boolean;
  lastError: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Every route that takes a job id, as [method, suffix after /v1/jobs/:id] (CONTRACT §5). */
export const JOB_ID_ROUTES: ['GET' | 'POST' | 'DELETE', string][] = [
  ['GET', ''],
  ['GET', '/result'],
  ['GET', '/attempts'],
  ['POST', '/cancel'],
  ['POST', '/retry'],
  ['DELETE', ''],
];

/** POST /v1/jobs; fails the test unless it was accepted. */
export async function submitJob(
  app: NestFastifyApplication,
  session: Pick<Session, 'headers'>,
  payload: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<JobJson> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/jobs',
    headers: { ...session.headers, ...headers },
    payload,
  });
  if (res.statusCode !== 202) throw new Error(`submit → ${res.statusCode} ${res.body}`);
  return res.json<JobJson>();
}

export async function getJob(
  app: NestFastifyApplication,
  session: Pick<Session, 'headers'>,
  id: string,
): Promise<JobJson> {
  const res = await app.inject({ method: 'GET', url: `/v1/jobs/${id}`, headers: session.headers });
  if (res.statusCode !== 200) throw new Error(`get ${id} → ${res.statusCode} ${res.body}`);
  return res.json<JobJson>();
}

/** Polls the job until `done` holds (or throws after `timeoutMs`), returning the last view. */
export async function waitForJob(
  app: NestFastifyApplication,
  session: Pick<Session, 'headers'>,
  id: string,
  done: (job: JobJson) => boolean = (job) => ['succeeded', 'failed', 'cancelled'].includes(job.status),
  timeoutMs = 20_000,
): Promise<JobJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(app, session, id);
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Jobs whose rows in job_queue and job_leases disagree with their status: a job has one queue row
 * exactly while queued and one lease row (under its current token) exactly while running
 * (migration 1796200000000). Each disagreement is one message.
 */
export async function narrowTableDisagreements(db: DataSource): Promise<string[]> {
  const rows = await db.query<{ id: string; status: string; queueRows: number; leaseRows: number }[]>(
    `SELECT j.id, j.status,
       (SELECT count(*)::int FROM job_queue q WHERE q.id = j.id AND q.priority = j.priority
          AND q.run_at = j.run_at AND q.created_at = j.created_at) AS "queueRows",
       (SELECT count(*)::int FROM job_leases l WHERE l.id = j.id AND l.lease_token = j.lease_token) AS "leaseRows"
     FROM jobs j`,
  );
  const [orphans] = await db.query<{ queue: number; leases: number }[]>(
    `SELECT (SELECT count(*)::int FROM job_queue q WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = q.id)) AS queue,
       (SELECT count(*)::int FROM job_leases l WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = l.id)) AS leases`,
  );
  return [
    ...rows
      .filter((row) => row.queueRows !== (row.status === 'queued' ? 1 : 0))
      .map((row) => `job ${row.id} is ${row.status} with ${row.queueRows} matching job_queue row(s)`),
    ...rows
      .filter((row) => row.leaseRows !== (row.status === 'running' ? 1 : 0))
      .map((row) => `job ${row.id} is ${row.status} with ${row.leaseRows} matching job_leases row(s)`),
    ...(orphans.queue > 0 ? [`${orphans.queue} job_queue row(s) of no job`] : []),
    ...(orphans.leases > 0 ? [`${orphans.leases} job_leases row(s) of no job`] : []),
  ];
}
