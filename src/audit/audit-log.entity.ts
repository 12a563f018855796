import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** Mirrors the table's CHK_audit_logs_actor_type. */
export type ActorType = 'user' | 'apikey' | 'system' | 'anonymous';

/**
 * One row of the append-only audit trail (CONTRACT §6). The table's triggers refuse UPDATE and
 * TRUNCATE always and DELETE outside the retention prune (migrations/1795500000000-audit-log.ts).
 */
@Entity('audit_logs')
export class AuditLog {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_audit_logs' })
  id!: string;

  // Millisecond precision, like a JS Date and the page cursor: with microseconds, rows sharing a
  // millisecond with a page's last row would fall between pages.
  @Column({ type: 'timestamptz', precision: 3, default: () => 'now()' })
  at!: Date;

  @Column({ name: 'actor_type', type: 'text' })
  actorType!: ActorType;

  @Column({ name: 'actor_id', type: 'uuid', nullable: true })
  actorId!: string | null;

  @Column({ type: 'text' })
  action!: string;

  @Column({ name: 'resource_type', type: 'text' })
  resourceType!: string;

  @Column({ name: 'resource_id', type: 'text', nullable: true })
  resourceId!: string | null;

  @Column({ type: 'boolean' })
  success!: boolean;

  @Column({ name: 'error_code', type: 'text', nullable: true })
  errorCode!: string | null;

  @Column({ type: 'text', nullable: true })
  ip!: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent!: string | null;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;

  // `object`, not Record<string, unknown>: TypeORM's insert typing cannot take `unknown` members.
  @Column({ type: 'jsonb', nullable: true })
  changes!: object | null;
}
