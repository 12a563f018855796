import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { appConfig, authConfig } from '@lib/config';
import { MigrationStatus } from '@lib/database';
import { AuditService } from '../audit/audit.service';
import { ADMIN_CHANGES_LOCK } from './advisory-locks';
import { PasswordHasher } from './password-hasher';
import { User } from './user.entity';
import { canonicalEmail } from './email';

const DEV_ADMIN_EMAIL = 'admin@localhost';

/**
 * First admin (CONTRACT §4): if no admin exists, create one from ADMIN_EMAIL/ADMIN_PASSWORD; in
 * development without them, admin@localhost with a random password printed once; in production
 * without them, start without one and warn. Replicas starting together create it once.
 *
 * The generated one is made only once the service listens (`whenServing`, called by main.ts): made
 * during a start that then failed (a port in use, a bad HOST), its password was printed among the
 * failure's lines and never again, and the next start found an admin nobody could log in as.
 */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrap.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
    private readonly migrations: MigrationStatus,
    @Inject(authConfig.KEY) private readonly auth: ConfigType<typeof authConfig>,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {}

  onApplicationBootstrap(): Promise<void> {
    if (this.generatesPassword) return Promise.resolve();
    return this.migrations.onceApplied('the first-admin check', () => this.ensureAdmin());
  }

  /** In development without ADMIN_EMAIL/ADMIN_PASSWORD: the generated admin, once listening. */
  whenServing(): Promise<void> {
    if (!this.generatesPassword) return Promise.resolve();
    return this.migrations.onceApplied('the first-admin check', () => this.ensureAdmin());
  }

  private get configured(): boolean {
    return Boolean(this.auth.adminEmail && this.auth.adminPassword);
  }

  private get generatesPassword(): boolean {
    return !this.configured && !this.app.isProduction;
  }

  private async ensureAdmin(): Promise<void> {
    const configured = this.configured;
    if (!configured && this.app.isProduction) {
      if (!(await this.dataSource.getRepository(User).existsBy({ role: 'admin' }))) {
        this.logger.warn('No admin exists and ADMIN_EMAIL/ADMIN_PASSWORD are not set: starting without one');
      }
      return;
    }
    const email = canonicalEmail(configured ? this.auth.adminEmail! : DEV_ADMIN_EMAIL);
    const password = configured ? this.auth.adminPassword! : randomBytes(18).toString('base64url');
    const passwordHash = await this.hasher.hash(password);
    const created = await this.dataSource.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock($1)', [ADMIN_CHANGES_LOCK]);
      if (await em.existsBy(User, { role: 'admin' })) return false;
      if (await em.existsBy(User, { email })) return false;
      const user = await em.save(em.create(User, { email, passwordHash, role: 'admin' }));
      await this.audit.record(
        {
          action: 'user.created',
          resourceType: 'user',
          resourceId: user.id,
          changes: { email: { after: email }, role: { after: 'admin' } },
          actor: { type: 'system', id: null },
        },
        em,
      );
      return true;
    });
    if (!created) return;
    if (configured) this.logger.log(`Created the first admin ${email}`);
    // Printed once, on purpose: there is no other way to learn it (CONTRACT §4).
    else
      this.logger.warn(`Created the first admin ${email} with password ${password} (shown once; change it)`);
  }
}
