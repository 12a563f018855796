import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { StoreNotifications } from '@lib/database';
import { Authenticator } from './authenticator';
import { PrincipalCache } from './principal-cache';

const CHANNEL = 'accounts_changed';

/** A change other replicas' caches must not outlive: a user's role, status, password or existence, or a revoked key. */
export type AccountChange = { userId: string } | { apiKeyId: string };

/**
 * What to forget in the caches (PrincipalCache, Authenticator) after a change, on every replica:
 * `publish` sends it with the change's transaction (PostgreSQL NOTIFY, so other replicas refuse a
 * revoked key or a disabled user as soon as the change commits, not within the caches' 10 s), and
 * `forget` applies it here once the transaction has committed (the embedded store has no other
 * replica). After a lost LISTEN connection, everything is forgotten: a change may have been missed.
 */
@Injectable()
export class AccountChanges implements OnApplicationBootstrap {
  constructor(
    private readonly notifications: StoreNotifications,
    private readonly accounts: PrincipalCache,
    private readonly authenticator: Authenticator,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.notifications.subscribe(CHANNEL, (payload) => this.forget(parse(payload)));
    await this.notifications.listen();
  }

  /** Inside the change's transaction. */
  async publish(em: EntityManager, change: AccountChange): Promise<void> {
    await this.notifications.publish(
      em,
      CHANNEL,
      'userId' in change ? `user:${change.userId}` : `key:${change.apiKeyId}`,
    );
  }

  /** After the commit, on this replica; null: whatever may have changed. */
  forget(change: AccountChange | null): void {
    if (change === null) {
      this.accounts.forgetAll();
      this.authenticator.forgetAllKeys();
    } else if ('userId' in change) {
      this.accounts.forget(change.userId);
      this.authenticator.forgetKeysOf(change.userId);
    } else {
      this.authenticator.forgetKey(change.apiKeyId);
    }
  }
}

function parse(payload: string | null): AccountChange | null {
  const [kind, id] = payload?.split(':', 2) ?? [];
  if (kind === 'user') return { userId: id };
  if (kind === 'key') return { apiKeyId: id };
  return null;
}
