import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import {
  CallerThrottlerGuard,
  CommonModule,
  createValidationPipe,
  ProblemDetailsFilter,
  RateLimitModule,
  RequestContextModule,
} from '@lib/common';
import { AppConfigModule } from '@lib/config';
import { DatabaseModule } from '@lib/database';
import { LoggingModule, MetricsModule } from '@lib/observability';
import { STATUS_BY_CODE } from './app.errors';
import { HealthModule } from './health/health.module';

/**
 * The request pipeline, in order: Fastify hooks (request id, metrics, helmet) → guards
 * (rate limit) → validation pipe → controller → problem-details filter on any error.
 */
@Module({
  imports: [
    AppConfigModule,
    CommonModule,
    RequestContextModule,
    LoggingModule,
    MetricsModule,
    DatabaseModule,
    RateLimitModule,
    HealthModule,
  ],
  providers: [
    { provide: APP_FILTER, useFactory: () => new ProblemDetailsFilter(STATUS_BY_CODE) },
    { provide: APP_PIPE, useFactory: createValidationPipe },
    { provide: APP_GUARD, useExisting: CallerThrottlerGuard },
  ],
})
export class AppModule {}
