import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type Repository } from 'typeorm';
import type { Principal } from '@lib/common';
import { ApiKey } from './api-key.entity';
import { PrincipalCache, TTL_MS } from './principal-cache';
import { sha256 } from './secrets';
import { TokenIssuer } from './token-issuer';

/**
 * Turns a bearer token or an API key into a Principal, or null. Both paths end at the account's
 * cached state, so a disabled user or a changed role takes effect within the cache TTL.
 */
@Injectable()
export class Authenticator {
  // Revoking a key forgets it on every replica when the revocation commits (AccountChanges).
  private readonly keys = new Map<
    string,
    { key: Pick<ApiKey, 'id' | 'userId' | 'expiresAt'> | null; until: number }
  >();

  constructor(
    private readonly tokens: TokenIssuer,
    private readonly accounts: PrincipalCache,
    @InjectRepository(ApiKey) private readonly apiKeys: Repository<ApiKey>,
  ) {}

  async fromBearer(token: string): Promise<Principal | null> {
    const claims = await this.tokens.verifyAccess(token);
    if (!claims) return null;
    const account = await this.accounts.get(claims.sub);
    if (!account || account.disabled || account.sessionVersion !== claims.ver) return null;
    return { kind: 'user', userId: claims.sub, role: account.role };
  }

  async fromApiKey(presented: string): Promise<Principal | null> {
    const key = await this.lookupKey(sha256(presented));
    if (!key || (key.expiresAt && key.expiresAt.getTime() <= Date.now())) return null;
    const account = await this.accounts.get(key.userId);
    if (!account || account.disabled) return null;
    return { kind: 'apikey', userId: key.userId, role: account.role, apiKeyId: key.id };
  }

  /** A revoked key, by id (AccountChanges): the notification carries no hash of the key. */
  forgetKey(id: string): void {
    for (const [hash, entry] of this.keys) if (entry.key?.id === id) this.keys.delete(hash);
  }

  /** A user's keys (AccountChanges): disabling revokes them all, enabling must not find them cached. */
  forgetKeysOf(userId: string): void {
    for (const [hash, entry] of this.keys) if (entry.key?.userId === userId) this.keys.delete(hash);
  }

  forgetAllKeys(): void {
    this.keys.clear();
  }

  private async lookupKey(keyHash: string): Promise<Pick<ApiKey, 'id' | 'userId' | 'expiresAt'> | null> {
    const now = Date.now();
    const hit = this.keys.get(keyHash);
    if (hit && hit.until > now) return hit.key;
    const key = await this.apiKeys.findOne({
      where: { keyHash, revokedAt: IsNull() },
      select: { id: true, userId: true, expiresAt: true },
    });
    if (this.keys.size > 100_000) this.keys.clear();
    this.keys.set(keyHash, { key, until: now + TTL_MS });
    return key;
  }
}
