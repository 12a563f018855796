import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import {
  BodylessRouteGuard,
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
import { AuditModule } from './audit/audit.module';
import { HealthModule } from './health/health.module';
import { SchemaReadyGuard } from './health/schema-ready.guard';
import { JobsModule } from './jobs/jobs.module';
import { AccessGuard } from './users/access.guard';
import { AuthenticationGuard } from './users/authentication.guard';
import { UsersModule } from './users/users.module';

/**
 * The request pipeline, in order: Fastify hooks (request id, metrics, helmet) → guards
 * (identify, rate limit, authorize) → validation pipe → controller → problem-details filter.
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
    AuditModule,
    UsersModule,
    JobsModule,
  ],
  providers: [
    { provide: APP_FILTER, useFactory: () => new ProblemDetailsFilter(STATUS_BY_CODE) },
    { provide: APP_PIPE, useFactory: createValidationPipe },
    // Schema applied → identify the caller → rate-limit (bad credentials count too) → 401/403 →
    // no body where none is read.
    { provide: APP_GUARD, useClass: SchemaReadyGuard },
    { provide: APP_GUARD, useExisting: AuthenticationGuard },
    { provide: APP_GUARD, useExisting: CallerThrottlerGuard },
    { provide: APP_GUARD, useExisting: AccessGuard },
    { provide: APP_GUARD, useClass: BodylessRouteGuard },
  ],
})
export class AppModule {}
