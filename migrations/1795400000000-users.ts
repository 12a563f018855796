import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Users1795400000000 implements MigrationInterface {
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        email text NOT NULL,
        password_hash text NOT NULL,
        role text NOT NULL,
        first_name text,
        last_name text,
        phone text,
        disabled boolean NOT NULL DEFAULT false,
        session_version integer NOT NULL DEFAULT 1,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT "PK_users" PRIMARY KEY (id),
        CONSTRAINT "CHK_users_role" CHECK (role IN ('admin', 'user')),
        CONSTRAINT "CHK_users_email_lower" CHECK (email = lower(email))
      )`);
    await q.query('CREATE UNIQUE INDEX "UQ_users_email_lower" ON users (lower(email))');
    await q.query('CREATE INDEX "IDX_users_created" ON users (created_at DESC, id DESC)');
    await q.query('CREATE INDEX "IDX_users_active_admins" ON users (role) WHERE NOT disabled');

    await q.query(`
      CREATE TABLE refresh_tokens (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        family_id uuid NOT NULL,
        token_hash text NOT NULL,
        expires_at timestamptz NOT NULL,
        rotated_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_refresh_tokens" PRIMARY KEY (id),
        CONSTRAINT "FK_refresh_tokens_user" FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
      )`);
    await q.query('CREATE UNIQUE INDEX "UQ_refresh_tokens_hash" ON refresh_tokens (token_hash)');
    await q.query('CREATE INDEX "IDX_refresh_tokens_family" ON refresh_tokens (family_id)');
    await q.query('CREATE INDEX "IDX_refresh_tokens_user" ON refresh_tokens (user_id)');

    await q.query(`
      CREATE TABLE api_keys (
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        name text NOT NULL,
        prefix text NOT NULL,
        key_hash text NOT NULL,
        expires_at timestamptz,
        revoked_at timestamptz,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT "PK_api_keys" PRIMARY KEY (id),
        CONSTRAINT "FK_api_keys_user" FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
      )`);
    await q.query('CREATE UNIQUE INDEX "UQ_api_keys_hash" ON api_keys (key_hash)');
    await q.query('CREATE INDEX "IDX_api_keys_user" ON api_keys (user_id, created_at DESC, id DESC)');

    await q.query(`
      CREATE TABLE login_failures (
        email text NOT NULL,
        failures integer NOT NULL,
        window_started_at timestamptz NOT NULL,
        CONSTRAINT "PK_login_failures" PRIMARY KEY (email)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE login_failures');
    await q.query('DROP TABLE api_keys');
    await q.query('DROP TABLE refresh_tokens');
    await q.query('DROP TABLE users');
  }
}
