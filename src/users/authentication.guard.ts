import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { clientIp, type Principal, RequestContext } from '@lib/common';
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
      ip: clientIp(request.ip),
      userAgent: request.headers['user-agent'],
      principal: principal ?? undefined,
    });
    return true;
  }

  /**
   * Every credential presented must hold: a bad bearer token next to a good API key (or the other
   * way round) is nobody, not the good one's owner, and so is a pair naming two users.
   */
  private async identify(request: FastifyRequest): Promise<Principal | null> {
    const apiKey = request.headers['x-api-key'];
    const { authorization } = request.headers;
    const byKey =
      typeof apiKey === 'string' && apiKey.length > 0
        ? await this.authenticator.fromApiKey(apiKey)
        : undefined;
    const byBearer = authorization === undefined ? undefined : await this.fromAuthorization(authorization);
    if (byKey === null || byBearer === null) return null;
    if (byKey && byBearer) return byKey.userId === byBearer.userId ? byKey : null;
    return byKey ?? byBearer ?? null;
  }

  /** The scheme is case-insensitive (RFC 9110 §11.1): `bearer` is `Bearer`. */
  private fromAuthorization(header: string): Promise<Principal | null> {
    const match = /^Bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(header);
    return match ? this.authenticator.fromBearer(match[1]) : Promise.resolve(null);
  }
}
