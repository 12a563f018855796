import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsDateOrTimestamp, IsTimestamp, KeepAsSent, PageQueryDto, ValidatedPerItem } from '@lib/common';
import { ATTEMPT_OUTCOMES, type AttemptOutcome, JOB_STATUSES, type JobStatus } from './job-lifecycle';

/** Visible ASCII (no spaces), as in an HTTP header: the header and the body field accept the same keys. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** Either field may be left out: it takes its default. */
export class BackoffDto {
  /** Wait before the first retry's jitter window, in seconds (> 0). Default 1. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.001)
  @Max(86_400)
  baseSeconds?: number;

  /** Cap on the wait between attempts, in seconds. Default 3600. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.001)
  @Max(604_800)
  maxSeconds?: number;
}

export class CreateJobDto {
  /** A registered job type (GET /v1/job-types). */
  @IsString()
  @MaxLength(64)
  type!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  /** Required (CONTRACT §5); validated against the type's payload schema (`{}` where it takes none). */
  // Free-form JSON, kept exactly as parsed: class-transformer would rebuild it, dropping keys
  // such as `toString` and emptying any object with a `constructor` key.
  @ApiProperty({ type: 'object', additionalProperties: true, example: { ms: 1000 } })
  @IsObject()
  @KeepAsSent()
  payload!: Record<string, unknown>;

  /** 1-10, higher runs first. Default 5. */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  priority?: number;

  /** Run no earlier than this instant (ISO 8601 with a UTC offset or Z; one already past means now). Not with delaySeconds. */
  @IsOptional()
  @IsTimestamp()
  runAt?: string;

  /** Run no earlier than this many seconds from now (at most a year). Not with runAt. */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(31_536_000)
  delaySeconds?: number;

  /** Attempt budget, 1-25. Default: the type's (3 unless it says otherwise). */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(25)
  maxAttempts?: number;

  /** Per-attempt time limit, 1-3600 s. Default: the type's. */
  @ApiPropertyOptional({ type: 'integer' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3600)
  timeoutSeconds?: number;

  // IsObject: ValidateNested alone passes an array (each element validated, none there), which
  // then reached the insert without baseSeconds (a 500).
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => BackoffDto)
  backoff?: BackoffDto;

  /** Same as the Idempotency-Key header; scoped to the caller. */
  @IsOptional()
  @IsString()
  @Matches(IDEMPOTENCY_KEY, { message: 'idempotencyKey must be 1-200 visible ASCII characters (no spaces)' })
  idempotencyKey?: string;
}

export class BatchCreateJobsDto {
  /**
   * Up to JOBS_BATCH_MAX jobs (default 1000), each validated on its own: an invalid item gets its
   * own problem in `results` and does not stop the others. Idempotency keys go in each item's
   * `idempotencyKey`.
   */
  @ApiProperty({ type: [CreateJobDto] })
  @IsArray()
  @ArrayMinSize(1)
  // As sent: each item is validated on its own later (JobSubmission.parse).
  @KeepAsSent()
  @ValidatedPerItem()
  jobs!: unknown[];
}

export class JobErrorDto {
  code!: string;
  message!: string;
}

export class JobDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  type!: string;
  name!: string | null;
  @ApiProperty({ enum: JOB_STATUSES })
  status!: JobStatus;
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 10 })
  priority!: number;
  @ApiProperty({ type: 'object', additionalProperties: true })
  payload!: unknown;
  /** 0-100, as last reported by the handler. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 100 })
  progress!: number;
  progressMessage!: string | null;
  /** Attempts started, except those interrupted by a shutdown drain. */
  @ApiProperty({ type: 'integer' })
  attempts!: number;
  @ApiProperty({ type: 'integer' })
  maxAttempts!: number;
  @ApiProperty({ format: 'date-time' })
  runAt!: string;
  @ApiProperty({ type: 'integer' })
  timeoutSeconds!: number;
  idempotencyKey!: string | null;
  @ApiProperty({ format: 'uuid' })
  ownerId!: string;
  cancelRequested!: boolean;
  /** The latest failure, kept after a later success. */
  lastError!: JobErrorDto | null;
  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
  /** When the latest attempt's handler was invoked. */
  @ApiProperty({ format: 'date-time' })
  startedAt!: string | null;
  /** When the job reached a final state. */
  @ApiProperty({ format: 'date-time' })
  finishedAt!: string | null;
}

export class JobPageDto {
  items!: JobDto[];
  nextCursor!: string | null;
}

export class BatchItemProblemDto {
  type!: string;
  title!: string;
  status!: number;
  detail!: string;
  instance!: string;
  requestId!: string;
  code!: string;
  errors?: { field: string; message: string }[];
}

export class BatchResultItemDto {
  index!: number;
  job?: JobDto;
  error?: BatchItemProblemDto;
}

export class BatchResultDto {
  results!: BatchResultItemDto[];
}

export class JobResultDto {
  jobId!: string;
  @ApiProperty({ description: 'Whatever the handler returned (JSON).' })
  result!: unknown;
}

export class JobAttemptDto {
  @ApiProperty({ type: 'integer' })
  attempt!: number;
  @ApiProperty({ format: 'date-time' })
  startedAt!: string;
  /** Null while the attempt runs. */
  @ApiProperty({ format: 'date-time' })
  finishedAt!: string | null;
  /** Null while the attempt runs. */
  @ApiProperty({ enum: ATTEMPT_OUTCOMES, nullable: true })
  outcome!: AttemptOutcome | null;
  error!: JobErrorDto | null;
  workerId!: string | null;
}

export class JobAttemptListDto {
  items!: JobAttemptDto[];
}

export class JobListQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(JOB_STATUSES)
  status?: JobStatus;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  type?: string;

  /** Exact name. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  /** Created at or after this instant (a timestamp with its UTC offset, or a date: its midnight UTC). */
  @IsOptional()
  @IsDateOrTimestamp()
  createdFrom?: string;

  /**
   * Created before this instant, exclusive (a timestamp with its UTC offset, or a date: its
   * midnight UTC, so `createdFrom=2026-12-04&createdTo=2026-12-05` is the whole of 4 December).
   */
  @IsOptional()
  @IsDateOrTimestamp()
  createdTo?: string;

  /** Admins only: one owner's jobs. For users it can only narrow to their own. */
  @IsOptional()
  @IsUUID()
  ownerId?: string;
}

export class JobTypeDto {
  type!: string;
  description!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'JSON Schema of the payload.' })
  payloadSchema!: Record<string, unknown>;
  defaultTimeoutSeconds!: number;
  defaultMaxAttempts!: number;
}

export class JobTypeListDto {
  items!: JobTypeDto[];
}

export class QueueCountsDto {
  queued!: number;
  running!: number;
  succeeded!: number;
  failed!: number;
  cancelled!: number;
}

export class QueueDto {
  type!: string;
  paused!: boolean;
  /** queued and running are exact; the final states may trail by up to 5 s. */
  counts!: QueueCountsDto;
  /** Seconds the oldest ready job has waited; null when none is waiting. */
  oldestQueuedAgeSeconds!: number | null;
}

export class QueueListDto {
  items!: QueueDto[];
}
