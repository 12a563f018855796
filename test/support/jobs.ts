import type { NestFastifyApplication } from '@nestjs/platform-fastify';
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
