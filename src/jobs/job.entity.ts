import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { JobStatus } from './job-lifecycle';

/**
 * A job (CONTRACT §5). Writes on the worker path go through JobStore's SQL, not this mapping;
 * the entity serves reads and the API's simple writes. Timestamps have millisecond precision,
 * like the page cursor.
 */
@Entity('jobs')
export class Job {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_jobs' })
  id!: string;

  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'text', nullable: true })
  name!: string | null;

  @Column({ type: 'text', default: 'queued' })
  status!: JobStatus;

  @Column({ type: 'smallint', default: 5 })
  priority!: number;

  @Column({ type: 'jsonb' })
  payload!: unknown;

  /** Up to JOBS_MAX_RESULT_BYTES: left out of entity reads (lists) and read only by GET …/result. */
  @Column({ type: 'jsonb', nullable: true, select: false })
  result!: unknown;

  @Column({ type: 'smallint', default: 0 })
  progress!: number;

  @Column({ name: 'progress_message', type: 'text', nullable: true })
  progressMessage!: string | null;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  /**
   * What retries and interrupted attempts took off `attempts`: the current attempt's number is
   * `attempts + attemptOffset`, and numbers never repeat within a job (migration 1796400000000).
   */
  @Column({ name: 'attempt_offset', type: 'integer', default: 0 })
  attemptOffset!: number;

  @Column({ name: 'max_attempts', type: 'integer' })
  maxAttempts!: number;

  @Column({ name: 'run_at', type: 'timestamptz', precision: 3 })
  runAt!: Date;

  @Column({ name: 'timeout_seconds', type: 'integer' })
  timeoutSeconds!: number;

  @Column({ name: 'backoff_base_seconds', type: 'double precision' })
  backoffBaseSeconds!: number;

  @Column({ name: 'backoff_max_seconds', type: 'double precision' })
  backoffMaxSeconds!: number;

  @Column({ name: 'idempotency_key', type: 'text', nullable: true })
  idempotencyKey!: string | null;

  /** SHA-256 of the canonical request body: an idempotent repeat must match it. */
  @Column({ name: 'request_hash', type: 'text', nullable: true })
  requestHash!: string | null;

  @Column({ name: 'owner_id', type: 'uuid' })
  ownerId!: string;

  @Column({ name: 'cancel_requested', type: 'boolean', default: false })
  cancelRequested!: boolean;

  @Column({ name: 'last_error_code', type: 'text', nullable: true })
  lastErrorCode!: string | null;

  @Column({ name: 'last_error_message', type: 'text', nullable: true })
  lastErrorMessage!: string | null;

  /** The fencing token of the current attempt; bigint, so the driver returns a string. */
  @Column({ name: 'lease_token', type: 'bigint', default: 0 })
  leaseToken!: string;

  @Column({ name: 'worker_id', type: 'text', nullable: true })
  workerId!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3, default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', precision: 3, default: () => 'now()' })
  updatedAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', precision: 3, nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', precision: 3, nullable: true })
  finishedAt!: Date | null;
}
