import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { canonicalJson, type FieldError, findUnstorableValue, validateAs } from '@lib/common';
import { timeOrderedUuid } from '@lib/database';
import { DEFAULT_BACKOFF } from './backoff';
import { JobHandlerRegistry } from './job-handler-registry';
import { CreateJobDto } from './jobs.dto';
import { InvalidJobError, UnknownJobTypeError } from './jobs.errors';

/** A validated job, ready to insert. */
export interface NewJob {
  id: string;
  type: string;
  name: string | null;
  priority: number;
  payloadJson: string;
  maxAttempts: number;
  /** Null: now, by the database's clock. */
  runAt: Date | null;
  timeoutSeconds: number;
  backoffBaseSeconds: number;
  backoffMaxSeconds: number;
  idempotencyKey: string | null;
  /** What a repeat of an idempotent request must match; null without an idempotency key. */
  requestHash: string | null;
  ownerId: string;
}

/**
 * Turns a submitted job into a row: the DTO rules, then the job rules (a registered type, the
 * payload against that type's schema, runAt xor delaySeconds, the type's defaults).
 */
@Injectable()
export class JobSubmission {
  constructor(private readonly registry: JobHandlerRegistry) {}

  /** A batch item through the same rules the pipe applies to a single job. */
  parse(raw: unknown): CreateJobDto | FieldError[] {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      return [{ field: '(item)', message: 'each job must be a JSON object' }];
    }
    // What the pipe checks in a whole body, it leaves to each item of a batch (ValidatedPerItem).
    const unstorable = findUnstorableValue(raw);
    if (unstorable) return [unstorable];
    return validateAs(CreateJobDto, raw);
  }

  /** Throws UnknownJobTypeError or InvalidJobError. */
  prepare(ownerId: string, submitted: CreateJobDto, headerKey?: string): NewJob {
    // An explicit null means "not given", for every optional field alike.
    const dto = withoutNulls(submitted);
    const type = this.registry.get(dto.type);
    if (!type) throw new UnknownJobTypeError(dto.type);
    const { payload } = dto;
    const errors = this.registry.validatePayload(type, payload);
    if (dto.runAt !== undefined && dto.delaySeconds !== undefined) {
      errors.push({ field: 'runAt', message: 'give runAt or delaySeconds, not both' });
    }
    if (headerKey !== undefined && dto.idempotencyKey !== undefined && headerKey !== dto.idempotencyKey) {
      errors.push({ field: 'idempotencyKey', message: 'differs from the Idempotency-Key header' });
    }
    const backoff = {
      baseSeconds: dto.backoff?.baseSeconds ?? DEFAULT_BACKOFF.baseSeconds,
      maxSeconds: dto.backoff?.maxSeconds ?? DEFAULT_BACKOFF.maxSeconds,
    };
    if (backoff.baseSeconds > backoff.maxSeconds) {
      errors.push({ field: 'backoff.baseSeconds', message: 'baseSeconds must not exceed maxSeconds' });
    }
    if (errors.length > 0) throw new InvalidJobError(errors);
    const idempotencyKey = headerKey ?? dto.idempotencyKey ?? null;
    return {
      id: timeOrderedUuid(),
      type: type.type,
      name: dto.name ?? null,
      priority: dto.priority ?? 5,
      payloadJson: JSON.stringify(payload),
      maxAttempts: dto.maxAttempts ?? type.defaultMaxAttempts,
      runAt: runAt(dto),
      timeoutSeconds: dto.timeoutSeconds ?? type.defaultTimeoutSeconds,
      backoffBaseSeconds: backoff.baseSeconds,
      backoffMaxSeconds: backoff.maxSeconds,
      idempotencyKey,
      requestHash: idempotencyKey === null ? null : requestHash(dto),
      ownerId,
    };
  }
}

/** The body without its key: a repeat may carry the key in the header or the body alike. */
function requestHash(dto: CreateJobDto): string {
  const { idempotencyKey: _key, ...body } = dto;
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

function withoutNulls(dto: CreateJobDto): CreateJobDto {
  if (!Object.values(dto).includes(null)) return dto;
  return Object.assign(
    new CreateJobDto(),
    Object.fromEntries(Object.entries(dto).filter(([, value]) => value !== null && value !== undefined)),
  );
}

/**
 * A runAt already past means now: kept as given, it put the job ahead of every older job of its
 * priority (claims order by runAt) and made the queue's oldestQueuedAgeSeconds read decades.
 */
function runAt(dto: CreateJobDto): Date | null {
  if (dto.runAt !== undefined) {
    const at = new Date(dto.runAt);
    return at.getTime() > Date.now() ? at : null;
  }
  if (dto.delaySeconds !== undefined && dto.delaySeconds > 0)
    return new Date(Date.now() + dto.delaySeconds * 1000);
  return null;
}
