import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { afterFailure, lockedForSeconds } from './lockout-policy';
import { LoginFailure } from './login-failure.entity';

/**
 * Password guesses per account, in the shared store so the lockout holds across replicas
 * (CONTRACT §4). Logins and the current password of a password change draw on the same budget:
 * a stolen access token or API key must not become an unlimited password oracle.
 */
@Injectable()
export class LoginAttempts {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Counts this attempt as a failure before its password is checked, under the row's lock, and
   * answers how long the account is still locked (0: go on). Counted after the check, every guess
   * sent at once passed a lock check that none of them had failed yet: 30 concurrent guesses were
   * 30 bcrypt checks instead of 5. A right password then clears the count (`clear`).
   */
  take(email: string): Promise<number> {
    return this.dataSource.transaction(async (em) => {
      await em
        .createQueryBuilder()
        .insert()
        .into(LoginFailure)
        .values({ email, failures: 0, windowStartedAt: new Date() })
        .orIgnore()
        .execute();
      const current = await em.findOne(LoginFailure, {
        where: { email },
        lock: { mode: 'pessimistic_write' },
      });
      const now = new Date();
      const lockedSeconds = lockedForSeconds(current, now);
      if (lockedSeconds === 0) {
        await em.update(LoginFailure, { email }, afterFailure(current?.failures ? current : null, now));
      }
      return lockedSeconds;
    });
  }

  /** The password was right: the count starts over. */
  async clear(em: EntityManager, email: string): Promise<void> {
    await em.delete(LoginFailure, { email });
  }
}
