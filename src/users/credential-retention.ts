import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PeriodicTask } from '@lib/common';
import { inTurn, MigrationStatus } from '@lib/database';
import { WINDOW_MS } from './lockout-policy';

/** pg_try_advisory_xact_lock key: one replica prunes at a time. */
const RETENTION_LOCK = 7_364_101_003;
const BATCH = 1000;
const EVERY_MS = 60 * 60_000;
/**
 * A day past its expiry: until then a refused refresh is still audited against the token's user
 * (an unknown token has none), which is when someone is likely to look.
 */
const EXPIRED_FOR = '1 day';

/**
 * Every login and every refresh adds a refresh-token row, and every failed login to an address
 * of its own a login-failure row; nothing else removes them. Every hour, refresh tokens a day
 * past their expiry (refused since, whatever their state) and failure windows past the lockout
 * window (the next failure starts a new window anyway, lockout-policy.ts) go, in batches, one
 * replica at a time.
 */
@Injectable()
export class CredentialRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CredentialRetention.name);
  private readonly loop = new PeriodicTask('Credential retention', () => this.prune(), this.logger);

  constructor(
    private readonly dataSource: DataSource,
    private readonly migrations: MigrationStatus,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    return this.migrations.onceApplied('credential retention', () => this.loop.start(EVERY_MS));
  }

  onApplicationShutdown(): Promise<void> {
    return this.loop.stop();
  }

  /** Deletes what is spent now; returns how many rows went (0 if another replica holds the turn). */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await inTurn(this.dataSource, RETENTION_LOCK, async (em) => {
        const [, tokens] = await em.query<[unknown, number]>(
          `DELETE FROM refresh_tokens WHERE id IN (
             SELECT id FROM refresh_tokens WHERE expires_at < now() - $1::interval LIMIT $2)`,
          [EXPIRED_FOR, BATCH],
        );
        const [, failures] = await em.query<[unknown, number]>(
          `DELETE FROM login_failures WHERE email IN (
             SELECT email FROM login_failures
             WHERE window_started_at < now() - $1::float8 * interval '1 millisecond' LIMIT $2)`,
          [WINDOW_MS, BATCH],
        );
        return { tokens, failures };
      });
      if (deleted === null) break;
      total += deleted.tokens + deleted.failures;
      if (deleted.tokens < BATCH && deleted.failures < BATCH) break;
    }
    if (total > 0)
      this.logger.log(`Retention deleted ${total} spent refresh token(s) and login-failure window(s)`);
    return total;
  }
}
