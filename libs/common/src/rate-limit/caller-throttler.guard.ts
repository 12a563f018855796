import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { ThrottlerRequest } from '@nestjs/throttler/dist/throttler.guard.interface';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { rateLimitConfig } from '@lib/config';
import type { Principal } from '../auth/principal';
import { clientIp } from '../http/client-ip';
import { RATE_LIMIT_REJECTIONS } from './rate-limit.metrics';

/** The rate-limit key of an unauthenticated caller, and of every caller on /v1/auth/*. */
export const ipTracker = (req: Record<string, unknown>): string => `ip:${clientIp(String(req.ip))}`;

/**
 * Limits each caller: the authenticated user or API key when there is one (set by the auth guard,
 * which runs first), else the client IP (which honours TRUST_PROXY through Fastify; see clientIp).
 */
@Injectable()
export class CallerThrottlerGuard extends ThrottlerGuard {
  private readonly off: boolean;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @InjectMetric(RATE_LIMIT_REJECTIONS) private readonly rejections: Counter<'route'>,
    @Inject(rateLimitConfig.KEY) cfg: ConfigType<typeof rateLimitConfig>,
  ) {
    super(options, storage, reflector);
    this.off = cfg.perMinute === 0 && cfg.authPerMinute === 0;
  }

  /** With both limits at 0 every throttler skips anyway; this spares the per-route lookups. */
  override canActivate(context: ExecutionContext): Promise<boolean> {
    return this.off ? Promise.resolve(true) : super.canActivate(context);
  }

  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const caller = (req as { user?: Principal }).user;
    if (caller?.apiKeyId) return Promise.resolve(`apikey:${caller.apiKeyId}`);
    return Promise.resolve(caller ? `user:${caller.userId}` : ipTracker(req));
  }

  /**
   * One budget per caller for all of /v1 (and per IP for all of /v1/auth/* under the auth
   * throttler), as CONTRACT §3 states it: the default key counts every route apart, which lets a
   * caller spend RATE_LIMIT_PER_MINUTE on each route.
   */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttler: string): string {
    return `${throttler}:${tracker}`;
  }

  /**
   * The X-RateLimit-* headers describe the limit nearest to refusing the request. On /v1/auth/*
   * that is usually the per-IP auth limit, whose headers the library names with a suffix
   * (`X-RateLimit-Remaining-auth`) beside the per-caller ones: a client counting down
   * `X-RateLimit-Remaining` met a 429 with a third of its count left.
   */
  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const passed = await super.handleRequest(props);
    const suffix =
      props.throttler.name && props.throttler.name !== 'default' ? `-${props.throttler.name}` : '';
    if (suffix) {
      const reply = props.context.switchToHttp().getResponse<FastifyReply>();
      const left = Number(reply.getHeader(`x-ratelimit-remaining${suffix}`));
      const shown = reply.getHeader('x-ratelimit-remaining');
      if (shown === undefined || left < Number(shown)) {
        reply.headers({
          'x-ratelimit-limit': reply.getHeader(`x-ratelimit-limit${suffix}`),
          'x-ratelimit-remaining': left,
          'x-ratelimit-reset': reply.getHeader(`x-ratelimit-reset${suffix}`),
        });
      }
      dropSuffixed(reply, suffix);
    }
    return passed;
  }

  /**
   * A 429 says which limit refused it, in the headers CONTRACT §3 names: the library names a
   * second throttler's headers after it (`Retry-After-auth`) and leaves the per-caller ones set
   * by the throttler before it, so a client refused by the per-IP auth limit got no Retry-After
   * and a Remaining above 0. Reset is when the block ends, as Retry-After: the caller is refused
   * until then, although the window it exceeded may end sooner.
   */
  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    this.rejections.inc({ route: request.routeOptions.url ?? 'unmatched' });
    const reply = http.getResponse<FastifyReply>();
    // The key is generateKey's: the throttler's name first.
    const throttler = detail.key.split(':', 1)[0];
    if (throttler !== 'default') dropSuffixed(reply, `-${throttler}`);
    reply.headers({
      'retry-after': detail.timeToBlockExpire,
      'x-ratelimit-limit': detail.limit,
      'x-ratelimit-remaining': 0,
      'x-ratelimit-reset': detail.timeToBlockExpire,
    });
    return super.throwThrottlingException(context, detail);
  }
}

/** The library's per-throttler copies (`Retry-After-auth`, …): the unsuffixed ones say it all. */
function dropSuffixed(reply: FastifyReply, suffix: string): void {
  for (const name of ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) {
    reply.removeHeader(`${name}${suffix}`);
  }
}
