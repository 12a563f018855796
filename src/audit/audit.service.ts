import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, type EntityManager, Repository } from 'typeorm';
import { decodeCursor, DomainError, type Page, type PageQueryDto, RequestContext, toPage } from '@lib/common';
import { inTurn, keysetPage } from '@lib/database';
import { actorFrom, type AuditEntry, stripSecrets } from './audit-entry';
import { AuditLog } from './audit-log.entity';
import type { AuditLogDto } from './audit.dto';

export type { Actor, AuditChanges, AuditEntry } from './audit-entry';

/** Filters of the admin query, combined with AND; `from` is inclusive, `to` exclusive. */
export interface AuditLogFilter {
  action?: string;
  actorId?: string;
  resourceType?: string;
  resourceId?: string;
  requestId?: string;
  success?: boolean;
  from?: Date | string;
  to?: Date | string;
}

const EXACT_FILTERS = ['action', 'actorId', 'resourceType', 'resourceId', 'requestId', 'success'] as const;
const MAX_USER_AGENT = 512;
/** insertStatement()'s columns in parameter order, with their SQL types. */
const AUDIT_INSERT_COLUMNS = [
  ['actor_type', 'text'],
  ['actor_id', 'uuid'],
  ['action', 'text'],
  ['resource_type', 'text'],
  ['resource_id', 'text'],
  ['success', 'boolean'],
  ['error_code', 'text'],
  ['ip', 'text'],
  ['user_agent', 'text'],
  ['request_id', 'text'],
  ['changes', 'jsonb'],
] as const;
/** pg_try_advisory_xact_lock key of the retention prune: one replica prunes at a time. */
const AUDIT_PRUNE_LOCK = 7_364_101_002;

/** The append-only audit trail (CONTRACT §6): other modules record through it, admins read it. */
@Injectable()
export class AuditService {
  constructor(
    private readonly dataSource: DataSource,
    @InjectRepository(AuditLog) private readonly logs: Repository<AuditLog>,
    private readonly context: RequestContext,
  ) {}

  /**
   * Writes one row, or one per entry in one statement. With `em`, it commits or rolls back with the caller's mutation (always pass
   * it inside a transaction: on the embedded store's single connection a separate write would
   * wait for that transaction forever). Without `em`, it is written on its own: for failures and
   * denials whose mutation never happened. Actor, ip, user agent and request id default to the
   * current request's.
   */
  async record(entry: AuditEntry | readonly AuditEntry[], em?: EntityManager): Promise<void> {
    const rows = Array.isArray(entry)
      ? entry.map((one) => this.rowOf(one))
      : [this.rowOf(entry as AuditEntry)];
    if (rows.length > 0) await (em ?? this.logs.manager).insert(AuditLog, rows);
  }

  /**
   * Runs a change that audits its own success; when a rule refuses it (a DomainError), records
   * the refusal on its own, success=false with the error's code (CONTRACT §6: failed attempts are
   * audited too). Written after `change` has settled, so after its transaction rolled back: inside
   * it, on the embedded store's single connection, the row would wait for that transaction.
   */
  async refusalsAudited<T>(
    attempt: Omit<AuditEntry, 'success' | 'errorCode'>,
    change: () => Promise<T>,
  ): Promise<T> {
    try {
      return await change();
    } catch (error) {
      if (error instanceof DomainError)
        await this.record({ ...attempt, success: false, errorCode: error.code });
      throw error;
    }
  }

  /**
   * The same row as an `INSERT … SELECT` for the caller to embed in its own statement (as a CTE,
   * optionally followed by a WHERE), so that a mutation and its audit row commit together in one
   * round trip. Its parameters are numbered from `firstParam`.
   */
  insertStatement(entry: AuditEntry, firstParam: number): { sql: string; params: unknown[] } {
    const row = this.rowOf(entry);
    const values = AUDIT_INSERT_COLUMNS.map(([, cast], i) => `$${firstParam + i}::${cast}`);
    return {
      sql: `INSERT INTO audit_logs (${AUDIT_INSERT_COLUMNS.map(([column]) => column).join(', ')})
        SELECT ${values.join(', ')}`,
      params: [
        row.actorType,
        row.actorId,
        row.action,
        row.resourceType,
        row.resourceId,
        row.success,
        row.errorCode,
        row.ip,
        row.userAgent,
        row.requestId,
        row.changes === null ? null : JSON.stringify(row.changes),
      ],
    };
  }

  private rowOf(entry: AuditEntry): Omit<AuditLog, 'id' | 'at'> {
    const context = this.context.get();
    const actor = entry.actor ?? actorFrom(context);
    return {
      actorType: actor.type,
      actorId: actor.id,
      action: entry.action,
      resourceType: entry.resourceType,
      resourceId: entry.resourceId ?? null,
      success: entry.success ?? true,
      errorCode: entry.errorCode ?? null,
      ip: context.ip ?? null,
      userAgent: context.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
      requestId: context.requestId ?? null,
      changes: stripSecrets(entry.changes),
    };
  }

  /** Newest first, keyset-paginated; a cursor this service did not issue is a 400. */
  async list(
    filter: AuditLogFilter,
    page: Pick<PageQueryDto, 'limit' | 'cursor'>,
  ): Promise<Page<AuditLogDto>> {
    const after = page.cursor ? decodeCursor(page.cursor) : undefined;
    const qb = this.logs.createQueryBuilder('a');
    for (const field of EXACT_FILTERS) {
      if (filter[field] !== undefined) qb.andWhere(`a.${field} = :${field}`, { [field]: filter[field] });
    }
    if (filter.from !== undefined) qb.andWhere('a.at >= :from', { from: new Date(filter.from) });
    if (filter.to !== undefined) qb.andWhere('a.at < :to', { to: new Date(filter.to) });
    const rows = await keysetPage(qb, 'a', page.limit, after, 'at').getMany();
    return toPage(
      rows.map((row) => Object.assign(row, { createdAt: row.at })),
      page.limit,
      toAuditLogDto,
    );
  }

  /**
   * Retention (AUDIT_RETENTION_DAYS): deletes rows older than `days`, `batchSize` per transaction
   * so no single one holds locks or WAL for long; returns how many went. Each transaction opens
   * the table's DELETE guard for itself only, with SET LOCAL, and takes a transaction-level
   * advisory lock so that replicas take turns: a replica that finds it held stops there.
   */
  async pruneOlderThan(days: number, batchSize = 1000): Promise<number> {
    if (!(days > 0) || !Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`pruneOlderThan needs days > 0 and a positive integer batch size`);
    }
    let total = 0;
    for (;;) {
      const deleted = await inTurn(this.dataSource, AUDIT_PRUNE_LOCK, async (em) => {
        await em.query("SET LOCAL jobs_service.audit_prune = 'on'");
        // TypeORM answers a DELETE with [rows, rowCount].
        const [, count] = await em.query<[unknown[], number]>(
          `DELETE FROM audit_logs WHERE id IN (
             SELECT id FROM audit_logs WHERE at < now() - $1::float8 * interval '1 day'
             ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
          [days, batchSize],
        );
        return count;
      });
      // null: another replica is pruning, its turn.
      if (deleted === null) return total;
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }
}

function toAuditLogDto(row: AuditLog): AuditLogDto {
  return {
    id: row.id,
    at: row.at.toISOString(),
    actorType: row.actorType,
    actorId: row.actorId,
    action: row.action,
    resourceType: row.resourceType,
    resourceId: row.resourceId,
    success: row.success,
    errorCode: row.errorCode,
    ip: row.ip,
    userAgent: row.userAgent,
    requestId: row.requestId,
    changes: row.changes as Record<string, unknown> | null,
  };
}
