import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource, type EntityManager } from 'typeorm';
import { decodeCursor, DomainError, type Page, RequestValidationError, toPage } from '@lib/common';
import { jobsConfig } from '@lib/config';
import { type ArrayElement, arrayLiteral, keysetPage, PreparedStatement } from '@lib/database';
import { type AuditChanges, type AuditEntry, AuditService } from '../audit/audit.service';
import { JobAttempt } from './job-attempt.entity';
import { cancelAction, canTransition, type JobAction } from './job-lifecycle';
import { type Caller, canAccessJob, listOwnerScope } from './job-ownership';
import { JobEngine, type SlotReservation } from './job-engine';
import { JobSignals } from './job-signals';
import { type NewJob, JobSubmission } from './job-submission';
import { Job } from './job.entity';
import {
  asAccepted,
  attemptOnJobRow,
  insertedJobRow,
  JOB_COLUMNS,
  type JobRow,
  toAttemptDto,
  toClaimedJob,
  toJobDto,
} from './job.mapper';
import type { CreateJobDto, JobAttemptListDto, JobDto, JobListQueryDto, JobResultDto } from './jobs.dto';
import {
  IdempotencyConflictError,
  IllegalJobStateError,
  JobNotFoundError,
  NoResultError,
} from './jobs.errors';
import { JobMetrics } from './jobs.metrics';

type Changes = Record<string, { before?: unknown; after?: unknown }>;

// GET /v1/jobs/:id is the hottest read (issue 6): one prepared statement, no query runner.
const JOB_BY_ID = new PreparedStatement<JobRow>(
  'jobs_get_by_id',
  `SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`,
);

/**
 * Takes a queued job out of job_queue (migration 1796200000000), found by its claim-order key. A
 * row that a claim holds is skipped rather than waited for: that claim then waits for this
 * transaction's lock on the job, finds it no longer queued, and drops the row itself. Waiting
 * would take the two locks in the opposite order to the claim's.
 */
export const UNQUEUE = `DELETE FROM job_queue WHERE ctid = ANY (ARRAY(
  SELECT q.ctid FROM jobs j JOIN job_queue q ON q.priority = j.priority AND q.run_at = j.run_at
    AND q.created_at = j.created_at AND q.id = j.id
  WHERE j.id = $1 FOR UPDATE OF q SKIP LOCKED))`;

/** Rows per statement of a batch insert (insertMany): four statements for a full batch of 1,000. */
const INSERT_CHUNK = 250;

export type BatchOutcome = { index: number; job: JobDto } | { index: number; error: DomainError };

/** The job use cases of CONTRACT §5; every mutation commits with its audit row. */
@Injectable()
export class JobsService {
  private readonly submitStatements = new Map<'claiming' | 'queueing', PreparedStatement<JobRow>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly submission: JobSubmission,
    private readonly audit: AuditService,
    private readonly signals: JobSignals,
    private readonly metrics: JobMetrics,
    private readonly engine: JobEngine,
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
  ) {}

  /**
   * 202 with a new job, or (created=false) the job an identical idempotent request made. A job
   * due now may be inserted already claimed by this replica's idle worker (JobEngine.reserveSlot);
   * the answer still shows it as accepted, queued, as it would be had the claim come a moment later.
   */
  async submit(
    caller: Caller,
    dto: CreateJobDto,
    headerKey?: string,
  ): Promise<{ job: JobDto; created: boolean }> {
    // A refused job (unknown type, a payload its schema refuses, a reused idempotency key) is a
    // failed attempt, audited as such (CONTRACT §6); what the job was is in the row's changes.
    return this.audit.refusalsAudited(refusedEntry({ type: { after: dto.type } }), () =>
      this.accept(caller, dto, headerKey),
    );
  }

  private async accept(
    caller: Caller,
    dto: CreateJobDto,
    headerKey?: string,
  ): Promise<{ job: JobDto; created: boolean }> {
    const job = this.submission.prepare(caller.userId, dto, headerKey);
    const slot = job.runAt === null ? this.engine.reserveSlot(job.type) : null;
    let result: Inserted;
    try {
      result = await this.insertOne(job, slot);
    } catch (error) {
      if (slot) this.engine.settleSlot(null);
      throw error;
    }
    // Settled before answer() wakes the worker for a queued job: the wake-up must see the slot free.
    if (slot) {
      const row = result.inserted.get(job.id);
      this.engine.settleSlot(row?.status === 'running' ? toClaimedJob(row, job) : null);
    }
    const [outcome] = this.answer([job], result);
    if (outcome instanceof DomainError) throw outcome;
    return outcome;
  }

  /** Valid items are created in one transaction; each invalid one gets its own problem. */
  async submitBatch(caller: Caller, items: unknown[]): Promise<BatchOutcome[]> {
    if (items.length > this.config.batchMax) {
      throw new RequestValidationError([
        { field: 'jobs', message: `at most ${this.config.batchMax} jobs per batch (JOBS_BATCH_MAX)` },
      ]);
    }
    const results: BatchOutcome[] = [];
    const valid: { index: number; job: NewJob }[] = [];
    items.forEach((raw, index) => {
      const parsed = this.submission.parse(raw);
      if (Array.isArray(parsed))
        return void results.push({ index, error: new RequestValidationError(parsed) });
      try {
        valid.push({ index, job: this.submission.prepare(caller.userId, parsed) });
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        results.push({ index, error });
      }
    });
    const outcomes = await this.insert(valid.map((item) => item.job));
    valid.forEach(({ index }, i) => {
      const outcome = outcomes[i];
      results.push(outcome instanceof DomainError ? { index, error: outcome } : { index, job: outcome.job });
    });
    results.sort((a, b) => a.index - b.index);
    await this.auditRefusedItems(results);
    return results;
  }

  /** One row for a batch's refused items, with each one's index and error code (CONTRACT §6). */
  private async auditRefusedItems(results: BatchOutcome[]): Promise<void> {
    const refused = results.flatMap((r) => ('error' in r ? [{ index: r.index, code: r.error.code }] : []));
    if (refused.length === 0) return;
    await this.audit.record({
      ...refusedEntry({ refusedItems: { after: refused } }),
      success: false,
      errorCode: refused[0].code,
    });
  }

  async list(caller: Caller, query: JobListQueryDto): Promise<Page<JobDto>> {
    const ownerId = listOwnerScope(caller, query.ownerId);
    if (ownerId === null) return { items: [], nextCursor: null };
    const qb = this.dataSource.getRepository(Job).createQueryBuilder('j');
    if (ownerId !== undefined) qb.andWhere('j.ownerId = :ownerId', { ownerId });
    if (query.status) qb.andWhere('j.status = :status', { status: query.status });
    if (query.type) qb.andWhere('j.type = :type', { type: query.type });
    if (query.name) qb.andWhere('j.name = :name', { name: query.name });
    if (query.createdFrom) qb.andWhere('j.createdAt >= :from', { from: new Date(query.createdFrom) });
    if (query.createdTo) qb.andWhere('j.createdAt < :to', { to: new Date(query.createdTo) });
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const rows = await keysetPage(qb, 'j', query.limit, after).getMany();
    return toPage(rows, query.limit, toJobDto);
  }

  async get(caller: Caller, id: string): Promise<JobDto> {
    const [row] = await JOB_BY_ID.rows(this.dataSource, [id]);
    return toJobDto(visibleTo(caller, row));
  }

  async result(caller: Caller, id: string): Promise<JobResultDto> {
    const [row] = await this.dataSource.query<{ status: string; ownerId: string; result: unknown }[]>(
      'SELECT status, owner_id AS "ownerId", result FROM jobs WHERE id = $1',
      [id],
    );
    if (!row || !canAccessJob(caller, row.ownerId)) throw new JobNotFoundError();
    if (row.status !== 'succeeded') throw new NoResultError(row.status);
    return { jobId: id, result: row.result };
  }

  async attempts(caller: Caller, id: string): Promise<JobAttemptListDto> {
    const job = await this.find(this.dataSource.manager, caller, id);
    const rows = await this.dataSource
      .getRepository(JobAttempt)
      .find({ where: { jobId: id }, order: { leaseToken: 'ASC' } });
    const items = rows.map(toAttemptDto);
    const last = attemptOnJobRow(job);
    if (last) items.push(last);
    return { items };
  }

  /** Queued: cancelled now (accepted=false → 200). Running: asked to stop (accepted=true → 202). */
  async cancel(caller: Caller, id: string): Promise<{ job: JobDto; accepted: boolean }> {
    const outcome = await this.mutate(caller, id, 'cancel', async (em, job): Promise<CancelOutcome> => {
      const action = cancelAction(job.status);
      if (!action) throw new IllegalJobStateError('cancel', job.status);
      if (action === 'requestCancel') {
        const row = await this.update(em, id, 'cancel_requested = true');
        await this.signals.publishCancel(em, id);
        return {
          row,
          accepted: true,
          changes: { cancelRequested: { before: job.cancelRequested, after: true } },
        };
      }
      await em.query(UNQUEUE, [id]);
      const row = await this.update(em, id, "status = 'cancelled', finished_at = now()");
      return { row, accepted: false, changes: { status: { before: job.status, after: 'cancelled' } } };
    });
    if (outcome.accepted) this.signals.cancelLocally(id);
    else this.metrics.jobFinished(outcome.row.type, 'cancelled');
    return { job: toJobDto(outcome.row), accepted: outcome.accepted };
  }

  /** Failed or cancelled → queued, with a fresh attempt budget. */
  async retry(caller: Caller, id: string): Promise<JobDto> {
    const { row } = await this.mutate(caller, id, 'retry', async (em, job) => {
      if (!canTransition(job.status, 'retry')) throw new IllegalJobStateError('retry', job.status);
      const updated = await this.update(
        em,
        id,
        // A fresh budget, the attempt numbers going on from where they were (migration 1796400000000).
        `status = 'queued', attempts = 0, attempt_offset = attempt_offset + attempts, run_at = now(),
         cancel_requested = false, result = NULL,
         progress = 0, progress_message = NULL, finished_at = NULL`,
      );
      await em.query(
        `INSERT INTO job_queue (id, type, priority, run_at, created_at)
         SELECT id, type, priority, run_at, created_at FROM jobs WHERE id = $1`,
        [id],
      );
      await this.signals.publishReady(em);
      return { row: updated, changes: { status: { before: job.status, after: 'queued' } } };
    });
    this.signals.readyLocally();
    return toJobDto(row);
  }

  /** Queued or finished jobs only: a running one has a worker writing to it. */
  async remove(caller: Caller, id: string): Promise<void> {
    await this.mutate(caller, id, 'delete', async (em, job) => {
      if (!canTransition(job.status, 'delete')) throw new IllegalJobStateError('delete', job.status);
      if (job.status === 'queued') await em.query(UNQUEUE, [id]);
      await em.query('DELETE FROM job_attempts WHERE job_id = $1', [id]);
      await em.query('DELETE FROM jobs WHERE id = $1', [id]);
      return { row: job, changes: { status: { before: job.status } } };
    });
  }

  /**
   * Inserts prepared jobs with their audit row, and resolves idempotency keys that were taken:
   * the same body gives back the existing job, another body a conflict.
   */
  private async insert(jobs: NewJob[]): Promise<({ job: JobDto; created: boolean } | DomainError)[]> {
    if (jobs.length === 0) return [];
    return this.answer(jobs, jobs.length === 1 ? await this.insertOne(jobs[0]) : await this.insertMany(jobs));
  }

  /** Wakes the worker for what went in queued, and answers each job as accepted. */
  private answer(
    jobs: NewJob[],
    { inserted, existing }: Inserted,
  ): ({ job: JobDto; created: boolean } | DomainError)[] {
    let queued = false;
    for (const row of inserted.values()) {
      this.metrics.jobsCreated(row.type);
      queued ||= row.status === 'queued';
    }
    if (queued) this.signals.readyLocally();
    return jobs.map((job) => {
      const row = inserted.get(job.id);
      if (row) return { job: toJobDto(row.status === 'running' ? asAccepted(row) : row), created: true };
      const original = existing.get(job.idempotencyKey);
      if (!original || original.requestHash !== job.requestHash) return new IdempotencyConflictError();
      return { job: toJobDto(original), created: false };
    });
  }

  /**
   * One job (every POST /v1/jobs) in one statement: the row, its audit row (only if the row went
   * in) and the NOTIFY commit together in one round trip instead of five, which is most of the
   * time between a submit and its pickup. With a reserved slot the row goes in already claimed
   * unless a ready job is ahead of it; then nobody else needs waking.
   */
  private async insertOne(job: NewJob, slot: SlotReservation | null = null): Promise<Inserted> {
    const insert = insertStatement([job], { slot });
    const audit = this.audit.insertStatement(createdEntry([job]), insert.params.length + 1);
    const notify = this.signals.readyExpression();
    const statement = this.submitStatement(
      slot !== null,
      () => `WITH j AS (${insert.sql}), ${narrowRows('j', slot)}, a AS (${audit.sql} WHERE EXISTS (SELECT 1 FROM j))
       SELECT j.*${notify ? `, CASE WHEN j.status = 'queued' THEN ${notify} END AS notified` : ''} FROM j`,
    );
    const [row] = await statement.rows(this.dataSource, [...insert.params, ...audit.params]);
    if (row) return { inserted: new Map([[row.id, row]]), existing: new Map() };
    const found = await findByKeys(this.dataSource.manager, job.ownerId, [job.idempotencyKey as string]);
    return { inserted: new Map(), existing: new Map(found.map((r) => [r.idempotencyKey, r])) };
  }

  /**
   * The submit statement, prepared once per connection: its text depends only on whether a slot
   * was reserved (the audit row and the NOTIFY are fixed by configuration), and parsing and
   * planning it on every submit took ~0.6 of PostgreSQL's ~0.8 ms.
   */
  private submitStatement(claiming: boolean, text: () => string): PreparedStatement<JobRow> {
    const key = claiming ? 'claiming' : 'queueing';
    let statement = this.submitStatements.get(key);
    if (!statement) {
      statement = new PreparedStatement<JobRow>(`jobs_submit_${key}`, text());
      this.submitStatements.set(key, statement);
    }
    return statement;
  }

  /**
   * A batch in one transaction with one audit row listing the ids that went in. The rows go in
   * INSERT_CHUNK at a time, pipelined: the next statement is built, its arrays already text, and
   * queued on the connection while PostgreSQL runs the one before, and the answer rows of a chunk
   * are made while the next one runs, so the two processes work side by side instead of in turn.
   * Each statement answers only which ids went in and the transaction's now(): the rest of each row
   * is what was sent plus the column defaults (insertedJobRow), which spares PostgreSQL
   * formatting, and the driver parsing, 24 columns of every row.
   */
  private async insertMany(jobs: NewJob[]): Promise<Inserted> {
    return this.dataSource.transaction(async (em) => {
      const inserted = new Map<string, JobRow>();
      const taken: string[] = [];
      const run = async (part: NewJob[]) => {
        const insert = insertStatement(part, { returning: QUEUE_COLUMNS });
        // The ids as one comma-separated text: the driver's array parser walked it char by char.
        const [answer] = await em.query<{ now: Date; ids: string | null }[]>(
          `WITH j AS (${insert.sql}), ${narrowRows('j', null)} SELECT now()::timestamptz(3) AS now, string_agg(id::text, ',') AS ids FROM j`,
          insert.params,
        );
        return { part, ...answer };
      };
      let next = run(jobs.slice(0, INSERT_CHUNK));
      for (let start = 0; start < jobs.length; start += INSERT_CHUNK) {
        const current = next;
        if (start + INSERT_CHUNK < jobs.length) {
          // Let the current statement reach the connection before building the next one.
          await new Promise((resolve) => setImmediate(resolve));
          next = run(jobs.slice(start + INSERT_CHUNK, start + 2 * INSERT_CHUNK));
          // If `current` fails, the transaction fails with its error; this one only follows.
          next.catch(() => undefined);
        }
        const { part, now, ids } = await current;
        const went = new Set(ids?.split(','));
        for (const job of part) {
          if (went.has(job.id)) inserted.set(job.id, insertedJobRow(job, now));
          else taken.push(job.idempotencyKey as string);
        }
      }
      const found = taken.length > 0 ? await findByKeys(em, jobs[0].ownerId, taken) : [];
      if (inserted.size > 0) {
        await this.audit.record(createdEntry([...inserted.values()]), em);
        await this.signals.publishReady(em);
      }
      return { inserted, existing: new Map(found.map((row) => [row.idempotencyKey, row])) };
    });
  }

  /**
   * A user action on one job: locks it, checks it is the caller's, applies `change` and audits
   * both the success (same transaction) and the refusal (on its own, success=false).
   */
  private async mutate<T extends { row: JobRow; changes: Changes }>(
    caller: Caller,
    id: string,
    action: Extract<JobAction, 'cancel' | 'retry' | 'delete'>,
    change: (em: EntityManager, job: JobRow) => Promise<T>,
  ): Promise<T> {
    const attempt = {
      action: `job.${action === 'delete' ? 'deleted' : action === 'cancel' ? 'cancelled' : 'retried'}`,
      resourceType: 'job',
      resourceId: id,
    };
    return this.audit.refusalsAudited(attempt, () =>
      this.dataSource.transaction(async (em) => {
        const job = await this.find(em, caller, id, true);
        const outcome = await change(em, job);
        await this.audit.record({ ...attempt, changes: outcome.changes }, em);
        return outcome;
      }),
    );
  }

  private async find(em: EntityManager, caller: Caller, id: string, lock = false): Promise<JobRow> {
    const [row] = await em.query<JobRow[]>(
      `SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return visibleTo(caller, row);
  }

  private async update(em: EntityManager, id: string, set: string): Promise<JobRow> {
    const [rows] = await em.query<[JobRow[], number]>(
      `UPDATE jobs SET ${set}, updated_at = now() WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
      [id],
    );
    return rows[0];
  }
}

interface CancelOutcome {
  row: JobRow;
  accepted: boolean;
  changes: Changes;
}

interface Inserted {
  inserted: Map<string, JobRow>;
  existing: Map<string | null, JobRow>;
}

/** A job.created that created nothing; the caller adds success=false and the error code. */
function refusedEntry(changes: AuditChanges): Omit<AuditEntry, 'success' | 'errorCode'> {
  return { action: 'job.created', resourceType: 'job', resourceId: null, changes };
}

function createdEntry(rows: { id: string; type: string }[]): AuditEntry {
  const ids = rows.map((row) => row.id);
  return {
    action: 'job.created',
    resourceType: 'job',
    resourceId: ids.length === 1 ? ids[0] : null,
    changes: ids.length === 1 ? { type: { after: rows[0].type } } : { jobIds: { after: ids } },
  };
}

/**
 * INSERT … ON CONFLICT DO NOTHING RETURNING: a taken idempotency key returns no row. The jobs
 * are one caller's (one owner). Payloads go as text[] cast row by row: a jsonb[] among the
 * unnested arrays cost PostgreSQL twice the CPU to unpack (measured: ~2 us per row more). With a
 * slot, a job goes in claimed by that worker (as jobs_claim would mark it) when no ready job of
 * the worker's types comes before it in claim order: one of at least its priority, since every
 * ready job runs at or before now.
 */
function insertStatement(
  jobs: NewJob[],
  { slot = null, returning = JOB_COLUMNS }: { slot?: SlotReservation | null; returning?: string } = {},
): { sql: string; params: unknown[] } {
  // One job as scalars, not one-element arrays: the planner cannot see an array parameter's
  // length, so it priced a generic plan for 10 rows and re-planned every submit (~0.45 ms).
  const single = jobs.length === 1;
  const col = <K extends keyof NewJob>(key: K) =>
    single ? jobs[0][key] : arrayLiteral(jobs.map((job) => job[key] as ArrayElement));
  const source = single
    ? `(VALUES ($1::uuid, $2::text, $3::text, $4::smallint, $5::text, $6::int, $7::timestamptz, $8::int,
       $9::float8, $10::float8, $11::text, $12::text))`
    : `unnest($1::uuid[], $2::text[], $3::text[], $4::smallint[], $5::text[], $6::int[],
       $7::timestamptz[], $8::int[], $9::float8[], $10::float8[], $11::text[], $12::text[])`;
  const claim = slot
    ? {
        columns: ', status, attempts, lease_token, worker_id, started_at',
        values: `, CASE WHEN c.take THEN 'running' ELSE 'queued' END, c.take::int, c.take::int,
           CASE WHEN c.take THEN $15 END,
           CASE WHEN c.take THEN now() END`,
        from: `, LATERAL (SELECT v.run_at IS NULL AND NOT EXISTS (SELECT 1 FROM job_queue q
           WHERE q.run_at <= now() AND q.type = ANY($16::text[])
             AND q.priority >= v.priority) AS take) c`,
        params: [slot.leaseSeconds, slot.workerId, slot.types],
      }
    : { columns: '', values: '', from: '', params: [] };
  return {
    sql: `INSERT INTO jobs (id, type, name, priority, payload, max_attempts, run_at, timeout_seconds,
       backoff_base_seconds, backoff_max_seconds, idempotency_key, request_hash, owner_id${claim.columns})
     SELECT id, type, name, priority, payload::jsonb, max_attempts, COALESCE(run_at, now()),
       timeout_seconds, backoff_base, backoff_max, idempotency_key, request_hash, $13::uuid${claim.values}
     FROM ${source}
       AS v(id, type, name, priority, payload, max_attempts, run_at, timeout_seconds, backoff_base,
         backoff_max, idempotency_key, request_hash)${claim.from}
     ON CONFLICT (owner_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
     RETURNING ${returning}`,
    params: [
      col('id'),
      col('type'),
      col('name'),
      col('priority'),
      col('payloadJson'),
      col('maxAttempts'),
      col('runAt'),
      col('timeoutSeconds'),
      col('backoffBaseSeconds'),
      col('backoffMaxSeconds'),
      col('idempotencyKey'),
      col('requestHash'),
      jobs[0].ownerId,
      ...claim.params,
    ],
  };
}

/** What narrowRows reads of each inserted job, when the insert returns no more (insertMany). */
const QUEUE_COLUMNS = 'id, type, priority, status, run_at AS "runAt", created_at AS "createdAt"';

/**
 * CTEs that give jobs just inserted (the CTE `from`, returning at least QUEUE_COLUMNS and
 * "leaseToken" when claimed) their job_queue row when queued and, with a slot, their job_leases
 * row when claimed (migration 1796200000000). The lease's length is the insert's $14.
 */
function narrowRows(from: string, slot: SlotReservation | null): string {
  const queue = `q AS (INSERT INTO job_queue (id, type, priority, run_at, created_at)
     SELECT id, type, priority, "runAt", "createdAt" FROM ${from} WHERE status = 'queued')`;
  if (!slot) return queue;
  return `${queue}, l AS (INSERT INTO job_leases (id, lease_token, type, expires_at)
     SELECT id, "leaseToken", type, now() + $14 * interval '1 second' FROM ${from} WHERE status = 'running')`;
}

function findByKeys(em: EntityManager, ownerId: string, keys: string[]): Promise<JobRow[]> {
  return em.query<JobRow[]>(
    `SELECT ${JOB_COLUMNS} FROM jobs WHERE owner_id = $1 AND idempotency_key = ANY($2::text[])`,
    [ownerId, keys],
  );
}

/** The row, if the caller may see it; others' jobs are as absent as missing ones (CONTRACT §3). */
function visibleTo(caller: Caller, row: JobRow | undefined): JobRow {
  if (!row || !canAccessJob(caller, row.ownerId)) throw new JobNotFoundError();
  return row;
}
