import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { type Principal, RequestContext } from '@lib/common';
import { Authenticator } from './authenticator';

/**
 * First global guard: works out who is calling from a bearer token or X-API-Key and records it
 * in the request context. It never rejects: the rate limiter runs next and must count bad
 * credentials too; AccessGuard then turns "nobody" into 401 and "not allowed" into 403.
 */
@Injectable()
export class AuthenticationGuard implements CanActivate {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly context: RequestContext,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    const principal = await this.identify(request);
    if (principal) request.user = principal;
    this.context.set({
      requestId: String(request.id),
      ip: request.ip,
      userAgent: request.headers['user-agent'],
      principal: principal ?? undefined,
    });
    return true;
  }

  private identify(request: FastifyRequest): Promise<Principal | null> {
    const apiKey = request.headers['x-api-key'];
    if (typeof apiKey === 'string' && apiKey.length > 0) return this.authenticator.fromApiKey(apiKey);
    const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(request.headers.authorization ?? '');
    return match ? this.authenticator.fromBearer(match[1]) : Promise.resolve(null);
  }
}
