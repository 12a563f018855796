import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Queue controls (CONTRACT §5 admin): one row per job type that an admin has paused or resumed;
 * a type without a row is running. Workers read the paused set every second.
 */
export class JobQueues1795700000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE job_queues (
        type text NOT NULL,
        paused boolean NOT NULL DEFAULT false,
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT "PK_job_queues" PRIMARY KEY (type)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE job_queues');
  }
}
