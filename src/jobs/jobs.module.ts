import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { HttpCircuitBreakers, httpBreakerMetricProviders } from './handlers/http-circuit-breakers';
import { HttpHandler } from './handlers/http.handler';
import { NoopHandler } from './handlers/noop.handler';
import { SleepHandler } from './handlers/sleep.handler';
import { AdminQueuesController } from './admin-queues.controller';
import { JobAttempt } from './job-attempt.entity';
import { JobEngine } from './job-engine';
import { JobHandlerRegistry } from './job-handler-registry';
import { JobQueuesService } from './job-queues.service';
import { JobRetention, jobRetentionMetricProviders } from './job-retention';
import { JobSignals } from './job-signals';
import { JobStateCounts } from './job-state-counts';
import { JobStore } from './job-store';
import { JobSubmission } from './job-submission';
import { JobTypesController } from './job-types.controller';
import { Job } from './job.entity';
import { JobsController } from './jobs.controller';
import { JobMetrics, jobMetricProviders } from './jobs.metrics';
import { JobsService } from './jobs.service';

/** Jobs: the REST API, the handlers and the worker engine (CONTRACT §5). */
@Module({
  imports: [TypeOrmModule.forFeature([Job, JobAttempt]), AuditModule, DiscoveryModule],
  controllers: [JobsController, JobTypesController, AdminQueuesController],
  providers: [
    JobsService,
    JobQueuesService,
    JobSubmission,
    JobHandlerRegistry,
    JobStore,
    JobEngine,
    JobSignals,
    JobStateCounts,
    JobMetrics,
    ...jobMetricProviders,
    JobRetention,
    ...jobRetentionMetricProviders,
    NoopHandler,
    SleepHandler,
    HttpHandler,
    HttpCircuitBreakers,
    ...httpBreakerMetricProviders,
  ],
})
export class JobsModule {}
