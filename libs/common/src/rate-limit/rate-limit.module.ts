import { type ExecutionContext, Module } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ConfigType } from '@nestjs/config';
import { ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { rateLimitConfig } from '@lib/config';
import { CallerThrottlerGuard, ipTracker } from './caller-throttler.guard';
import { FallbackThrottlerStorage } from './fallback-throttler-storage';
import { rateLimitMetrics } from './rate-limit.metrics';

const MINUTE_MS = 60_000;

const isAuthRoute = (context: ExecutionContext): boolean =>
  (context.switchToHttp().getRequest<FastifyRequest>().routeOptions.url ?? '').startsWith('/v1/auth/');

/** Loaded only when REDIS_URL is set: ioredis costs a replica without Redis ~1.6 MB of heap (issue 6). */
async function redisStorage(url: string): Promise<ThrottlerStorage> {
  const [{ ThrottlerStorageRedisService }, { Redis }] = await Promise.all([
    import('@nest-lab/throttler-storage-redis'),
    import('ioredis'),
  ]);
  const redis = new Redis(url, {
    keyPrefix: 'jobs-service:throttle:',
    // While Redis is away a command fails at once (and the limits fall back to this replica's
    // counters) instead of waiting in a queue; one that hangs gives up after 500 ms.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
  });
  // The client reconnects by itself; the fallback logs the outage once, not every attempt
  // (unhandled, ioredis prints each one to stderr, outside the JSON log).
  redis.on('error', () => undefined);
  const shared = new ThrottlerStorageRedisService(redis);
  // Given a client, the storage leaves it open at shutdown.
  shared.disconnectRequired = true;
  return new FallbackThrottlerStorage(shared);
}

/**
 * Per-caller rate limits (CONTRACT §3). Counters are in memory, or in Redis when REDIS_URL is
 * set so that all replicas share them. RATE_LIMIT_PER_MINUTE=0 turns limiting off.
 * Bind `CallerThrottlerGuard` as an APP_GUARD after authentication.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [rateLimitConfig.KEY],
      useFactory: async (cfg: ConfigType<typeof rateLimitConfig>) => ({
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
            getTracker: ipTracker,
          },
        ],
        storage: cfg.redisUrl ? await redisStorage(cfg.redisUrl) : undefined,
      }),
    }),
  ],
  providers: [CallerThrottlerGuard, ...rateLimitMetrics],
  exports: [CallerThrottlerGuard, ThrottlerModule],
})
export class RateLimitModule {}
