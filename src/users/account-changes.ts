import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { StoreNotifications } from '@lib/database';
import { Authenticator } from './authenticator';
import { PrincipalCache } from './principal-cache';

const CHANNEL = 'accounts_changed';

/** A change other replicas' caches must not outlive: a user's role, status, password or existence, or a revoked key. */
export type AccountChange = { userId: string } | { apiKeyId: string };

/**
 * Tells every replica's caches (PrincipalCache, Authenticator) what to forget: sent with the
 * change's transaction (PostgreSQL NOTIFY), so a revoked key or a disabled user is refused on
 * every replica as soon as the change commits, not within the caches' 10 s. After a lost
 * LISTEN connection, everything is forgotten: a change may have been missed.
 */
@Injectable()
export class AccountChanges implements OnApplicationBootstrap {
  constructor(
    private readonly notifications: StoreNotifications,
    private readonly accounts: PrincipalCache,
    private readonly authenticator: Authenticator,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.notifications.subscribe(CHANNEL, (payload) => this.forget(payload));
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

  private forget(payload: string | null): void {
    if (payload === null) {
      this.accounts.forgetAll();
      this.authenticator.forgetAllKeys();
      return;
    }
    const [kind, id] = payload.split(':', 2);
    if (kind === 'user') this.accounts.forget(id);
    else if (kind === 'key') this.authenticator.forgetKeyId(id);
  }
}
