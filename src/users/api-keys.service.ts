import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource, type EntityManager, IsNull, MoreThan, Or } from 'typeorm';
import { decodeCursor, type Page, type PageQueryDto, RequestValidationError, toPage } from '@lib/common';
import { authConfig } from '@lib/config';
import { keysetPage } from '@lib/database';
import { AuditService } from '../audit/audit.service';
import { AccountChanges } from './account-changes';
import { ApiKey } from './api-key.entity';
import { newToken, sha256 } from './secrets';
import { toApiKeyDto } from './user.mapper';
import type { ApiKeyDto, CreatedApiKeyDto, CreateApiKeyDto } from './users.dto';
import { ApiKeyLimitError, ApiKeyNotFoundError } from './users.errors';

export const API_KEY_PREFIX = 'jsk_';
// `jsk_` plus 8 characters of the random part: enough to tell keys apart, useless to an attacker.
const VISIBLE_LENGTH = API_KEY_PREFIX.length + 8;

/** A user's API keys: shown once at creation, stored hashed, revocable (CONTRACT §4). */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly changes: AccountChanges,
    @Inject(authConfig.KEY) private readonly config: ConfigType<typeof authConfig>,
  ) {}

  async create(userId: string, input: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new RequestValidationError([{ field: 'expiresAt', message: 'expiresAt must be in the future' }]);
    }
    const key = newToken(API_KEY_PREFIX);
    return this.audit.refusalsAudited({ action: 'api_key.created', resourceType: 'api_key' }, () =>
      this.dataSource.transaction(async (em) => {
        // The owner's row lock makes concurrent creations count one after another, so they cannot
        // together pass the limit.
        await em.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
        // An expired key no longer works, so it no longer takes a slot.
        const held = await em.countBy(ApiKey, {
          userId,
          revokedAt: IsNull(),
          expiresAt: Or(IsNull(), MoreThan(new Date())),
        });
        if (held >= this.config.apiKeysMaxPerUser) throw new ApiKeyLimitError(this.config.apiKeysMaxPerUser);
        const row = em.create(ApiKey, {
          userId,
          name: input.name,
          prefix: key.slice(0, VISIBLE_LENGTH),
          keyHash: sha256(key),
          expiresAt,
        });
        await em.save(row);
        await this.audit.record(
          {
            action: 'api_key.created',
            resourceType: 'api_key',
            resourceId: row.id,
            changes: { name: { after: row.name } },
          },
          em,
        );
        return { ...toApiKeyDto(row), key };
      }),
    );
  }

  /** Newest first, a page at a time like every list (CONTRACT §3). */
  async list(userId: string, query: PageQueryDto): Promise<Page<ApiKeyDto>> {
    const qb = this.dataSource
      .getRepository(ApiKey)
      .createQueryBuilder('k')
      .where('k.userId = :userId AND k.revokedAt IS NULL', { userId });
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const rows = await keysetPage(qb, 'k', query.limit, after).getMany();
    return toPage(rows, query.limit, toApiKeyDto);
  }

  /** Another user's key id is "not found", never "forbidden": ids of others are not revealed. */
  async revoke(userId: string, id: string): Promise<void> {
    const attempt = { action: 'api_key.revoked', resourceType: 'api_key', resourceId: id };
    await this.audit.refusalsAudited(attempt, () =>
      this.dataSource.transaction(async (em) => {
        const key = await em.findOneBy(ApiKey, { id, userId, revokedAt: IsNull() });
        if (!key) throw new ApiKeyNotFoundError();
        await em.update(ApiKey, { id }, { revokedAt: new Date() });
        await this.changes.publish(em, { apiKeyId: id });
        await this.audit.record(attempt, em);
      }),
    );
    this.changes.forget({ apiKeyId: id });
  }

  /**
   * Inside the transaction that disables or deletes the owner (`cause`): their keys end for good,
   * one audited revocation each, so enabling the account again does not bring them back. The
   * owner's change notification makes every replica forget the cached keys (AccountChanges).
   */
  async revokeAllOf(
    em: EntityManager,
    userId: string,
    cause: 'user.disabled' | 'user.deleted',
  ): Promise<void> {
    // An UPDATE answers [rows, count] through TypeORM's query().
    const [revoked] = await em.query<[{ id: string }[], number]>(
      'UPDATE api_keys SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING id',
      [userId],
    );
    await this.audit.record(
      revoked.map(({ id }) => ({
        action: 'api_key.revoked',
        resourceType: 'api_key',
        resourceId: id,
        changes: { cause: { after: cause } },
      })),
      em,
    );
  }
}
