import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import {
  ForbiddenError,
  IS_PUBLIC_KEY,
  type Principal,
  type Role,
  ROLES_KEY,
  SIGNED_IN_ONLY_KEY,
  UnauthenticatedError,
} from '@lib/common';
import { AuditService } from '../audit/audit.service';
import { PrincipalCache } from './principal-cache';

/**
 * Last global guard: every route needs a caller unless marked @Public() (401 otherwise),
 * @SignedInOnly() refuses API keys (403) and @Roles(...) restricts it further (403). Every 403 is
 * audited (CONTRACT §6). A role-restricted route checks the caller's role in the store, not in
 * this replica's cache: an admin demoted on another replica could otherwise, for the cache's
 * 10 s, create a new admin and keep the rights.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
    private readonly accounts: PrincipalCache,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    if (!request.user) throw new UnauthenticatedError('A valid bearer token or API key is required.');
    if (
      request.user.kind === 'apikey' &&
      this.reflector.getAllAndOverride<boolean>(SIGNED_IN_ONLY_KEY, targets)
    ) {
      return this.deny(request, 'An API key cannot do this; sign in and use your bearer token.');
    }
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (!roles) return true;
    if (roles.includes(request.user.role)) {
      const account = await this.accounts.fresh(request.user.userId);
      if (!account || account.disabled) throw new UnauthenticatedError('The account is disabled or gone.');
      if (roles.includes(account.role)) return true;
    }
    return this.deny(request);
  }

  private async deny(request: FastifyRequest, message?: string): Promise<never> {
    await this.audit.record({
      action: 'authz.denied',
      resourceType: 'route',
      resourceId: `${request.method} ${request.routeOptions.url ?? request.url}`,
      success: false,
      errorCode: 'AUTH.FORBIDDEN',
    });
    throw new ForbiddenError(message);
  }
}
