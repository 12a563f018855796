import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { AttemptOutcome } from './job-lifecycle';

/** One finished attempt of a job; the running attempt lives on the job row until it ends. */
@Entity('job_attempts')
export class JobAttempt {
  @PrimaryColumn({ name: 'job_id', type: 'uuid', primaryKeyConstraintName: 'PK_job_attempts' })
  jobId!: string;

  @PrimaryColumn({ name: 'lease_token', type: 'bigint', primaryKeyConstraintName: 'PK_job_attempts' })
  leaseToken!: string;

  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ name: 'worker_id', type: 'text', nullable: true })
  workerId!: string | null;

  @Column({ name: 'started_at', type: 'timestamptz', precision: 3 })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', precision: 3 })
  finishedAt!: Date;

  @Column({ type: 'text' })
  outcome!: AttemptOutcome;

  @Column({ name: 'error_code', type: 'text', nullable: true })
  errorCode!: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;
}
