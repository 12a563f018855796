import { type ExecutionContext, Module } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ConfigType } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { rateLimitConfig } from '@lib/config';
import { CallerThrottlerGuard } from './caller-throttler.guard';
import { rateLimitMetrics } from './rate-limit.metrics';

const MINUTE_MS = 60_000;

const isAuthRoute = (context: ExecutionContext): boolean =>
  (context.switchToHttp().getRequest<FastifyRequest>().routeOptions.url ?? '').startsWith('/v1/auth/');

/**
 * Per-caller rate limits (CONTRACT §3). Counters are in memory, or in Redis when REDIS_URL is
 * set so that all replicas share them. RATE_LIMIT_PER_MINUTE=0 turns limiting off.
 * Bind `CallerThrottlerGuard` as an APP_GUARD after authentication.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [rateLimitConfig.KEY],
      useFactory: (cfg: ConfigType<typeof rateLimitConfig>) => ({
        throttlers: [
          {
            name: 'default',
            ttl: MINUTE_MS,
            limit: Math.max(cfg.perMinute, 1),
            skipIf: () => cfg.perMinute === 0,
          },
          // Login, refresh and logout are limited per client IP as well, however they authenticate.
          {
            name: 'auth',
            ttl: MINUTE_MS,
            limit: Math.max(cfg.authPerMinute, 1),
            skipIf: (context) => cfg.authPerMinute === 0 || !isAuthRoute(context),
            getTracker: (req: Record<string, unknown>) => `ip:${String(req.ip)}`,
          },
        ],
        storage: cfg.redisUrl
          ? new ThrottlerStorageRedisService(cfg.redisUrl, { keyPrefix: 'jobs-service:throttle:' })
          : undefined,
      }),
    }),
  ],
  providers: [CallerThrottlerGuard, ...rateLimitMetrics],
  exports: [CallerThrottlerGuard, ThrottlerModule],
})
export class RateLimitModule {}
