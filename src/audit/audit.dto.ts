import { IsBoolean, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { IsDateOrTimestamp, PageQueryDto, QueryBoolean } from '@lib/common';
import type { ActorType } from './audit-log.entity';

/** `GET /v1/admin/audit-logs` filters; all optional, combined with AND. */
export class AuditLogQueryDto extends PageQueryDto {
  /** Exact action, e.g. `user.created`. */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  action?: string;

  /** The acting user (for API keys, the key's owner). */
  @IsOptional()
  @IsUUID()
  actorId?: string;

  /** Exact resource type, e.g. `user`, `job`. */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  resourceType?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  resourceId?: string;

  /** The X-Request-Id of the request that wrote the rows. */
  @IsOptional()
  @IsString()
  @MaxLength(128)
  requestId?: string;

  /** `true` or `false`. */
  @IsOptional()
  @QueryBoolean()
  @IsBoolean()
  success?: boolean;

  /** Rows at or after this instant (a timestamp with its UTC offset, or a date), inclusive. */
  @IsOptional()
  @IsDateOrTimestamp()
  from?: string;

  /**
   * Rows before this instant, exclusive (a timestamp with its UTC offset, or a date: its midnight
   * UTC, so `from=2026-12-04&to=2026-12-05` is the whole of 4 December).
   */
  @IsOptional()
  @IsDateOrTimestamp()
  to?: string;
}

/** One audit row (CONTRACT §6). */
export class AuditLogDto {
  id!: string;
  /** When it happened, ISO 8601 UTC with milliseconds. */
  at!: string;
  actorType!: ActorType;
  /** The acting user (for API keys, the key's owner); null for system and anonymous. */
  actorId!: string | null;
  action!: string;
  resourceType!: string;
  resourceId!: string | null;
  /** False for failed attempts and denials. */
  success!: boolean;
  /** The error code of a failed attempt, e.g. `AUTH.FORBIDDEN`. */
  errorCode!: string | null;
  ip!: string | null;
  userAgent!: string | null;
  requestId!: string | null;
  /** `{field: {before?, after?}}` for each changed field; never secrets. */
  changes!: Record<string, unknown> | null;
}

export class AuditLogPageDto {
  items!: AuditLogDto[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor!: string | null;
}
