import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail (CONTRACT §6), append-only by the database's own rules:
 * - UPDATE: always refused. An audit row is a fact; no code path, the prune included, edits one.
 * - DELETE: refused unless the transaction has run `SET LOCAL jobs_service.audit_prune = 'on'`,
 *   which only AuditService.pruneOlderThan does (AUDIT_RETENTION_DAYS).
 * - TRUNCATE: always refused. The prune deletes in batches and never truncates, so the flag
 *   buys it nothing; wiping the trail needs a visible DROP TRIGGER.
 * This stops application bugs and stray SQL, not the table's owner (who can disable triggers):
 * for that, run the service as a role that does not own the table.
 * Only built-in features (plpgsql, gen_random_uuid): the embedded PGlite has no extensions.
 */
export class AuditLog1795500000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_logs (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        at timestamptz(3) NOT NULL DEFAULT now(),
        actor_type text NOT NULL,
        actor_id uuid,
        action text NOT NULL,
        resource_type text NOT NULL,
        resource_id text,
        success boolean NOT NULL,
        error_code text,
        ip text,
        user_agent text,
        request_id text,
        changes jsonb,
        CONSTRAINT "PK_audit_logs" PRIMARY KEY (id),
        CONSTRAINT "CHK_audit_logs_actor_type" CHECK (actor_type IN ('user', 'apikey', 'system', 'anonymous'))
      )`);
    await q.query('CREATE INDEX "IDX_audit_logs_at" ON audit_logs (at DESC, id DESC)');
    await q.query('CREATE INDEX "IDX_audit_logs_actor" ON audit_logs (actor_id, at DESC)');
    await q.query(
      'CREATE INDEX "IDX_audit_logs_resource" ON audit_logs (resource_type, resource_id, at DESC)',
    );
    await q.query('CREATE INDEX "IDX_audit_logs_action" ON audit_logs (action, at DESC)');
    await q.query('CREATE INDEX "IDX_audit_logs_request_id" ON audit_logs (request_id)');

    // current_setting(..., true) is NULL when the flag was never set and '' after a SET LOCAL
    // ended, so only a transaction that set it itself gets through.
    await q.query(`
      CREATE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('jobs_service.audit_prune', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_logs is append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege',
                HINT = 'Only the retention prune deletes audit rows; nothing updates or truncates them.';
      END
      $$`);
    await q.query(`
      CREATE TRIGGER "TRG_audit_logs_append_only" BEFORE UPDATE OR DELETE ON audit_logs
        FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only()`);
    await q.query(`
      CREATE TRIGGER "TRG_audit_logs_no_truncate" BEFORE TRUNCATE ON audit_logs
        FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    // DROP TABLE fires no DELETE/TRUNCATE trigger and takes the triggers with it.
    await q.query('DROP TABLE audit_logs');
    await q.query('DROP FUNCTION audit_logs_append_only()');
  }
}
