import { Injectable } from '@nestjs/common';
import { OneAtATime } from '@lib/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { DataSource, type EntityManager, IsNull } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { lockFamily } from './advisory-locks';
import { LoginAttempts } from './login-attempts';
import { PasswordHasher } from './password-hasher';
import { RefreshToken } from './refresh-token.entity';
import { sha256 } from './secrets';
import { type TokenPair, TokenIssuer } from './token-issuer';
import { User } from './user.entity';
import { AccountLockedError, InvalidCredentialsError, InvalidRefreshTokenError } from './users.errors';
import { canonicalEmail } from './email';

export const AUTH_LOGINS = 'auth_logins_total';

/** Login with lockout, refresh-token rotation with reuse detection, logout (CONTRACT §4). */
@Injectable()
export class AuthService {
  private readonly perAccount = new OneAtATime();

  constructor(
    private readonly dataSource: DataSource,
    private readonly hasher: PasswordHasher,
    private readonly tokens: TokenIssuer,
    private readonly audit: AuditService,
    private readonly attempts: LoginAttempts,
    @InjectMetric(AUTH_LOGINS) private readonly logins: Counter<'outcome'>,
  ) {}

  /**
   * Attempts on one account run one at a time on this replica: each takes its count before its
   * check (LoginAttempts.take), so right passwords sent at once would otherwise have held all five
   * counts at once and locked out the next (a 429 to a correct login). Across replicas a few can
   * still overlap, at most one per replica.
   */
  login(emailInput: string, password: string): Promise<TokenPair> {
    const email = canonicalEmail(emailInput);
    return this.perAccount.run(email, () => this.attempt(email, password));
  }

  private async attempt(email: string, password: string): Promise<TokenPair> {
    const lockedSeconds = await this.attempts.take(email);
    if (lockedSeconds > 0) {
      this.logins.inc({ outcome: 'locked' });
      // Named like the failed logins before it, so that one account's trail reads as one.
      const account = await this.dataSource.getRepository(User).findOneBy({ email });
      await this.audit.record({
        action: 'auth.login.locked',
        resourceType: 'user',
        resourceId: account?.id,
        success: false,
        errorCode: 'AUTH.ACCOUNT_LOCKED',
        changes: { email: { after: email } },
      });
      throw new AccountLockedError(lockedSeconds);
    }
    const user = await this.dataSource.getRepository(User).findOneBy({ email });
    const passwordOk = await this.hasher.verify(password, user?.passwordHash);
    if (!user || !passwordOk || user.disabled) {
      await this.audit.record({
        action: 'auth.login.failed',
        resourceType: 'user',
        resourceId: user?.id ?? null,
        success: false,
        errorCode: 'AUTH.INVALID_CREDENTIALS',
        changes: { email: { after: email } },
      });
      this.logins.inc({ outcome: 'failed' });
      throw new InvalidCredentialsError();
    }
    const pair = await this.dataSource.transaction(async (em) => {
      await this.attempts.clear(em, email);
      await this.audit.record(
        {
          action: 'auth.login.succeeded',
          resourceType: 'user',
          resourceId: user.id,
          actor: { type: 'user', id: user.id },
        },
        em,
      );
      return this.tokens.issue(em, user);
    });
    this.logins.inc({ outcome: 'succeeded' });
    return pair;
  }

  /**
   * Rotates a refresh token. Presenting one already rotated revokes its whole family. Locks in
   * the order every change to a user's sessions takes: the user's row, then the family
   * (lockFamily), then the token. An admin's disable locks the row and then revokes the tokens;
   * a rotation that locked its token first needed the row last (its new token's foreign key),
   * and the two deadlocked: a 500, and the disable rolled back.
   */
  async refresh(token: string): Promise<TokenPair> {
    // Refused: the token's user when the token is known; a reuse is audited as such inside.
    const outcome = await this.dataSource.transaction(
      async (em): Promise<TokenPair | { refused: { userId: string | null; reuse: boolean } }> => {
        const refused = (userId: string | null, reuse = false) => ({ refused: { userId, reuse } });
        const found = await em.findOneBy(RefreshToken, { tokenHash: sha256(token) });
        if (!found) return refused(null);
        const user = await em.findOne(User, {
          where: { id: found.userId },
          lock: { mode: 'pessimistic_read' },
        });
        await lockFamily(em, found.familyId);
        const row = await em.findOne(RefreshToken, {
          where: { id: found.id },
          lock: { mode: 'pessimistic_write' },
        });
        if (!row || row.revokedAt || row.expiresAt.getTime() <= Date.now()) return refused(found.userId);
        if (row.rotatedAt) {
          await this.revokeFamily(em, row.familyId);
          await this.audit.record(
            {
              action: 'auth.refresh.reuse_detected',
              resourceType: 'user',
              resourceId: row.userId,
              success: false,
              errorCode: 'AUTH.INVALID_REFRESH_TOKEN',
              actor: { type: 'user', id: row.userId },
            },
            em,
          );
          return refused(row.userId, true);
        }
        if (!user || user.disabled) return refused(row.userId);
        await em.update(RefreshToken, { id: row.id }, { rotatedAt: new Date() });
        return this.tokens.issue(em, user, row.familyId);
      },
    );
    if (!('refused' in outcome)) return outcome;
    const error = new InvalidRefreshTokenError();
    // After the commit, so that a detected reuse stays revoked; the failure is audited on its own
    // (CONTRACT §6), against the token's user when the token was one of ours.
    if (!outcome.refused.reuse) {
      const { userId } = outcome.refused;
      await this.audit.record({
        action: 'auth.refresh',
        resourceType: 'user',
        resourceId: userId,
        success: false,
        errorCode: error.code,
        ...(userId ? { actor: { type: 'user' as const, id: userId } } : {}),
      });
    }
    throw error;
  }

  /** Ends the session (the token's family). Unknown tokens are ignored: logout is idempotent. */
  async logout(token: string): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      const row = await em.findOneBy(RefreshToken, { tokenHash: sha256(token) });
      if (!row) return;
      await lockFamily(em, row.familyId);
      await this.revokeFamily(em, row.familyId);
      await this.audit.record(
        {
          action: 'auth.logout',
          resourceType: 'user',
          resourceId: row.userId,
          actor: { type: 'user', id: row.userId },
        },
        em,
      );
    });
  }

  /**
   * Revokes every token of the family, the one a concurrent rotation just added included: the
   * caller holds the family's lock, so that rotation has committed (this statement's snapshot
   * sees its token) or has not begun.
   */
  private async revokeFamily(em: EntityManager, familyId: string): Promise<void> {
    await em.update(RefreshToken, { familyId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }
}
