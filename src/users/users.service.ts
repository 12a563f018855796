import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, IsNull } from 'typeorm';
import { decodeCursor, type Page, toPage, UnauthenticatedError } from '@lib/common';
import { isUniqueViolation, keysetPage } from '@lib/database';
import { AuditService } from '../audit/audit.service';
import { removesLastAdmin } from './admin-rule';
import { AccountChanges } from './account-changes';
import { ApiKeysService } from './api-keys.service';
import { ADMIN_CHANGES_LOCK } from './advisory-locks';
import { LoginAttempts } from './login-attempts';
import { PasswordHasher } from './password-hasher';
import { RefreshToken } from './refresh-token.entity';
import { User } from './user.entity';
import { toUserDto } from './user.mapper';
import type { AdminUpdateUserDto, CreateUserDto, UpdateMeDto, UserDto, UserListQueryDto } from './users.dto';
import {
  AccountLockedError,
  EmailTakenError,
  LastAdminError,
  UserNotFoundError,
  WrongPasswordError,
} from './users.errors';
import { canonicalEmail } from './email';

type Changes = Record<string, { before?: unknown; after?: unknown }>;

/** Own-account and admin use cases on users (CONTRACT §4); every mutation is audited with it. */
@Injectable()
export class UsersService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
    private readonly changes: AccountChanges,
    private readonly attempts: LoginAttempts,
    private readonly apiKeys: ApiKeysService,
  ) {}

  async get(id: string): Promise<UserDto> {
    const user = await this.dataSource.getRepository(User).findOneBy({ id });
    if (!user) throw new UserNotFoundError();
    return toUserDto(user);
  }

  /** The caller's own account; gone (deleted on another replica, within its cache) means the credentials are. */
  async own(id: string): Promise<UserDto> {
    const user = await this.dataSource.getRepository(User).findOneBy({ id });
    if (!user) throw new UnauthenticatedError('The account is gone.');
    return toUserDto(user);
  }

  async list(query: UserListQueryDto): Promise<Page<UserDto>> {
    const qb = this.dataSource.getRepository(User).createQueryBuilder('u');
    if (query.email)
      qb.andWhere('u.email LIKE :email', { email: `%${escapeLike(canonicalEmail(query.email))}%` });
    if (query.role) qb.andWhere('u.role = :role', { role: query.role });
    if (query.disabled !== undefined) qb.andWhere('u.disabled = :disabled', { disabled: query.disabled });
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const rows = await keysetPage(qb, 'u', query.limit, after).getMany();
    return toPage(rows, query.limit, toUserDto);
  }

  async create(input: CreateUserDto): Promise<UserDto> {
    const email = canonicalEmail(input.email);
    const attempt = { action: 'user.created', resourceType: 'user', changes: { email: { after: email } } };
    const passwordHash = await this.hasher.hash(input.password);
    return this.audit.refusalsAudited(attempt, () =>
      this.dataSource.transaction(async (em) => {
        const user = em.create(User, {
          email,
          passwordHash,
          role: input.role,
          firstName: input.firstName ?? null,
          lastName: input.lastName ?? null,
        });
        // The unique index decides, not a look before the insert: two creations at once both saw no user.
        await em.save(user).catch((error: unknown) => {
          throw isUniqueViolation(error) ? new EmailTakenError() : error;
        });
        await this.audit.record(
          {
            action: 'user.created',
            resourceType: 'user',
            resourceId: user.id,
            changes: { email: { after: email }, role: { after: input.role } },
          },
          em,
        );
        return toUserDto(user);
      }),
    );
  }

  async updateProfile(id: string, input: UpdateMeDto | AdminUpdateUserDto): Promise<UserDto> {
    const attempt = {
      action: updateAction(input as AdminUpdateUserDto),
      resourceType: 'user',
      resourceId: id,
    };
    return this.audit.refusalsAudited(attempt, () =>
      this.dataSource
        .transaction(async (em) => {
          // Only changes to role or status can affect who is an admin; names and phone need no lock.
          const { role, disabled } = input as AdminUpdateUserDto;
          if (role !== undefined || disabled !== undefined) {
            await em.query('SELECT pg_advisory_xact_lock($1)', [ADMIN_CHANGES_LOCK]);
          }
          const user = await em.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } });
          if (!user) throw new UserNotFoundError();
          const before = { role: user.role, disabled: user.disabled };
          const changes: Changes = {};
          for (const [field, value] of Object.entries(input) as [keyof User, unknown][]) {
            if (value === undefined || user[field] === value) continue;
            changes[field] = { before: user[field], after: value };
            Object.assign(user, { [field]: value });
          }
          if (removesLastAdmin(before, user, await this.otherActiveAdmins(em, id)))
            throw new LastAdminError();
          const securityChange = 'role' in changes || 'disabled' in changes;
          if (securityChange) await this.endSessions(em, user);
          if (changes.disabled?.after === true) await this.apiKeys.revokeAllOf(em, id, 'user.disabled');
          await em.save(user);
          if (Object.keys(changes).length > 0) {
            await this.audit.record(
              {
                action: updateAction({ disabled: changes.disabled?.after, role: changes.role?.after }),
                resourceType: 'user',
                resourceId: id,
                changes,
              },
              em,
            );
          }
          return toUserDto(user);
        })
        .finally(() => this.changes.forget({ userId: id })),
    );
  }

  async changePassword(id: string, currentPassword: string, newPassword: string): Promise<void> {
    const attempt = { action: 'user.password_changed', resourceType: 'user', resourceId: id };
    await this.audit.refusalsAudited(attempt, async () => {
      // bcrypt outside the transaction: on the embedded store a transaction holds the only connection.
      const checked = await this.dataSource.getRepository(User).findOneBy({ id });
      if (!checked) throw new UnauthenticatedError('The account is gone.');
      // A guess at the current password is a login attempt: same budget, same lockout.
      const lockedSeconds = await this.attempts.take(checked.email);
      if (lockedSeconds > 0) throw new AccountLockedError(lockedSeconds);
      if (!(await this.hasher.verify(currentPassword, checked.passwordHash))) throw new WrongPasswordError();
      const passwordHash = await this.hasher.hash(newPassword);
      await this.dataSource.transaction(async (em) => {
        const user = await em.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } });
        // Changed since it was checked: the password given is no longer the current one (of two
        // changes sent at once, both had passed the check, and the later write won).
        if (!user || user.passwordHash !== checked.passwordHash) throw new WrongPasswordError();
        user.passwordHash = passwordHash;
        await this.endSessions(em, user);
        await em.save(user);
        await this.attempts.clear(em, user.email);
        await this.audit.record(attempt, em);
      });
    });
    this.changes.forget({ userId: id });
  }

  async remove(id: string): Promise<void> {
    await this.audit.refusalsAudited({ action: 'user.deleted', resourceType: 'user', resourceId: id }, () =>
      this.dataSource.transaction(async (em) => {
        await em.query('SELECT pg_advisory_xact_lock($1)', [ADMIN_CHANGES_LOCK]);
        const user = await em.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } });
        if (!user) throw new UserNotFoundError();
        if (removesLastAdmin(user, null, await this.otherActiveAdmins(em, id))) throw new LastAdminError();
        // The rows go with the user (foreign key); the trail keeps that each key ended.
        await this.apiKeys.revokeAllOf(em, id, 'user.deleted');
        await em.delete(User, { id });
        await this.changes.publish(em, { userId: id });
        await this.audit.record(
          {
            action: 'user.deleted',
            resourceType: 'user',
            resourceId: id,
            changes: { email: { before: user.email } },
          },
          em,
        );
      }),
    );
    this.changes.forget({ userId: id });
  }

  /**
   * Disable, role or password change: refresh tokens die now, access tokens and API keys at the
   * next request, on every replica (AccountChanges). A disable also revokes the keys (revokeAllOf).
   */
  private async endSessions(em: EntityManager, user: User): Promise<void> {
    user.sessionVersion += 1;
    await em.update(RefreshToken, { userId: user.id, revokedAt: IsNull() }, { revokedAt: new Date() });
    await this.changes.publish(em, { userId: user.id });
  }

  private otherActiveAdmins(em: EntityManager, id: string): Promise<number> {
    return em
      .getRepository(User)
      .createQueryBuilder('u')
      .where("u.role = 'admin' AND NOT u.disabled AND u.id <> :id", { id })
      .getCount();
  }
}

/** The audit action of a profile update, from the values it sets (or tried to set). */
function updateAction(after: { disabled?: unknown; role?: unknown }): string {
  if (after.disabled !== undefined) return after.disabled ? 'user.disabled' : 'user.enabled';
  if (after.role !== undefined) return 'user.role_changed';
  return 'user.updated';
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}
