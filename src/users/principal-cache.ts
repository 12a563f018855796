import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import type { Role } from '@lib/common';
import { User } from './user.entity';

/**
 * What a token is checked against on every request: is the user still active, with which role,
 * and which session version. Cached per user for at most TTL_MS: one indexed read per user per
 * TTL, not one per request. A disable, role or password change makes every replica forget the
 * entry when it commits (AccountChanges); the TTL bounds what a lost notification leaves
 * (CONTRACT §4: 30 s).
 */
export const TTL_MS = 10_000;

export interface AccountState {
  role: Role;
  disabled: boolean;
  sessionVersion: number;
}

@Injectable()
export class PrincipalCache {
  private readonly entries = new Map<string, { state: AccountState | null; expiresAt: number }>();

  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  async get(userId: string): Promise<AccountState | null> {
    const hit = this.entries.get(userId);
    if (hit && hit.expiresAt > Date.now()) return hit.state;
    return this.fresh(userId);
  }

  /** Read from the store now (and remembered): for what a change made on another replica must not outlive. */
  async fresh(userId: string): Promise<AccountState | null> {
    const user = await this.users.findOne({
      where: { id: userId },
      select: { id: true, role: true, disabled: true, sessionVersion: true },
    });
    const state = user
      ? { role: user.role, disabled: user.disabled, sessionVersion: user.sessionVersion }
      : null;
    if (this.entries.size > 100_000) this.entries.clear();
    this.entries.set(userId, { state, expiresAt: Date.now() + TTL_MS });
    return state;
  }

  /** After a change to the account (this replica's, or another's: AccountChanges). */
  forget(userId: string): void {
    this.entries.delete(userId);
  }

  forgetAll(): void {
    this.entries.clear();
  }
}
