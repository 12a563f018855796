import { Logger, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { type ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';

type SharedStorage = ThrottlerStorage & OnModuleDestroy;

/**
 * Counters shared through Redis, or this replica's own while Redis does not answer: an outage of
 * the rate limiter's store must not become an outage of the API (every request failing with a
 * 500 after a wait), and limits stay on meanwhile, per replica. Redis is asked again on every
 * request; its client fails at once while disconnected (no offline queue), so that costs nothing.
 */
export class FallbackThrottlerStorage implements ThrottlerStorage, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly local = new ThrottlerStorageService();
  private degraded = false;

  constructor(private readonly shared: SharedStorage) {}

  async increment(...args: Parameters<ThrottlerStorage['increment']>) {
    try {
      const record = await this.shared.increment(...args);
      if (this.degraded) {
        this.degraded = false;
        this.logger.log('Redis answers again: rate limits are shared across replicas again');
      }
      return record;
    } catch (error) {
      if (!this.degraded) {
        this.degraded = true;
        this.logger.warn(
          `Redis does not answer (${String(error)}): rate limits count per replica until it does`,
        );
      }
      return this.local.increment(...args);
    }
  }

  onModuleDestroy(): void {
    this.shared.onModuleDestroy();
  }

  onApplicationShutdown(): void {
    this.local.onApplicationShutdown();
  }
}
