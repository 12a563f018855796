import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import {
  AuthenticatedApi,
  CurrentPrincipal,
  type Principal,
  RequestContext,
  RequestValidationError,
  toProblem,
  uuidParam,
} from '@lib/common';
import { STATUS_BY_CODE } from '../app.errors';
import { AuditsRefusedInput } from '../audit/refused-input.interceptor';
import {
  BatchCreateJobsDto,
  BatchResultDto,
  CreateJobDto,
  IDEMPOTENCY_KEY,
  JobAttemptListDto,
  JobDto,
  JobListQueryDto,
  JobPageDto,
  JobResultDto,
} from './jobs.dto';
import { JobsService } from './jobs.service';

const BATCH_PATH = '/v1/jobs/batch';

@ApiTags('jobs')
@AuthenticatedApi()
@Controller('jobs')
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly context: RequestContext,
  ) {}

  /** Submit a job. A repeat with the same Idempotency-Key and body answers 200 with the original. */
  @Post()
  @HttpCode(202)
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: '1-200 visible ASCII characters (no spaces), scoped to the caller.',
  })
  @ApiAcceptedResponse({ type: JobDto, description: 'Accepted; Location points at the job.' })
  @ApiOkResponse({ type: JobDto, description: 'Idempotent repeat: the original job.' })
  @ApiBadRequestResponse({ description: 'Invalid job, unknown type or payload not matching its schema.' })
  @ApiConflictResponse({ description: 'Idempotency-Key reused with a different body.' })
  @AuditsRefusedInput({ action: 'job.created', resourceType: 'job' })
  async create(
    @CurrentPrincipal() caller: Principal,
    @Body() body: CreateJobDto,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobDto> {
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new RequestValidationError([
        { field: 'Idempotency-Key', message: 'must be 1-200 visible ASCII characters (no spaces)' },
      ]);
    }
    const { job, created } = await this.jobs.submit(caller, body, key);
    void reply.status(created ? 202 : 200).header('Location', `/v1/jobs/${job.id}`);
    return job;
  }

  /** Submit up to JOBS_BATCH_MAX jobs: the valid ones in one transaction, a problem per invalid one. */
  @Post('batch')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: BatchResultDto })
  @ApiBadRequestResponse({
    description:
      'Not 1 to JOBS_BATCH_MAX jobs, or an Idempotency-Key header (each job takes its own idempotencyKey).',
  })
  @AuditsRefusedInput({ action: 'job.created', resourceType: 'job' })
  async createBatch(
    @CurrentPrincipal() caller: Principal,
    @Body() body: BatchCreateJobsDto,
    @Headers('idempotency-key') key: string | undefined,
  ): Promise<BatchResultDto> {
    // Ignoring it would let a client believe a retried batch is safe when each retry adds jobs.
    if (key !== undefined) {
      throw new RequestValidationError([
        { field: 'Idempotency-Key', message: 'not taken by a batch: give each job its own idempotencyKey' },
      ]);
    }
    const outcomes = await this.jobs.submitBatch(caller, body.jobs);
    const requestId = this.context.get().requestId ?? '';
    return {
      results: outcomes.map((outcome) =>
        'job' in outcome
          ? outcome
          : {
              index: outcome.index,
              error: toProblem(outcome.error, { instance: BATCH_PATH, requestId }, STATUS_BY_CODE).problem,
            },
      ),
    };
  }

  /** Jobs, newest first: the caller's own, or (admins) everyone's. */
  @Get()
  @ApiOkResponse({ type: JobPageDto })
  list(@CurrentPrincipal() caller: Principal, @Query() query: JobListQueryDto): Promise<JobPageDto> {
    return this.jobs.list(caller, query);
  }

  /** One job, if it is yours (admins: any). */
  @Get(':id')
  @ApiOkResponse({ type: JobDto })
  @ApiNotFoundResponse({ description: 'No such job, or not yours.' })
  get(@CurrentPrincipal() caller: Principal, @Param('id', uuidParam()) id: string): Promise<JobDto> {
    return this.jobs.get(caller, id);
  }

  /** What a succeeded job's handler returned. */
  @Get(':id/result')
  @ApiOkResponse({ type: JobResultDto })
  @ApiNotFoundResponse({ description: 'No such job, or not yours.' })
  @ApiConflictResponse({ description: 'The job has not succeeded (yet).' })
  result(@CurrentPrincipal() caller: Principal, @Param('id', uuidParam()) id: string): Promise<JobResultDto> {
    return this.jobs.result(caller, id);
  }

  /** Every attempt, oldest first; one still running has no outcome yet. */
  @Get(':id/attempts')
  @ApiOkResponse({ type: JobAttemptListDto })
  @ApiNotFoundResponse({ description: 'No such job, or not yours.' })
  attempts(
    @CurrentPrincipal() caller: Principal,
    @Param('id', uuidParam()) id: string,
  ): Promise<JobAttemptListDto> {
    return this.jobs.attempts(caller, id);
  }

  /** Queued: cancelled at once (200). Running: its handler is aborted and it ends cancelled (202). */
  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOkResponse({ type: JobDto, description: 'Cancelled.' })
  @ApiAcceptedResponse({
    type: JobDto,
    description: 'Cancel requested; the running attempt is being stopped.',
  })
  @ApiNotFoundResponse({ description: 'No such job, or not yours.' })
  @ApiConflictResponse({ description: 'The job already finished.' })
  @AuditsRefusedInput({ action: 'job.cancelled', resourceType: 'job', resourceId: 'id' })
  async cancel(
    @CurrentPrincipal() caller: Principal,
    @Param('id', uuidParam()) id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<JobDto> {
    const { job, accepted } = await this.jobs.cancel(caller, id);
    if (accepted) void reply.status(202);
    return job;
  }

  /** Failed or cancelled → queued again with a fresh attempt budget. */
  @Post(':id/retry')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: JobDto })
  @ApiNotFoundResponse({ description: 'No such job, or not yours.' })
  @ApiConflictResponse({ description: 'Only failed or cancelled jobs can be retried.' })
  @AuditsRefusedInput({ action: 'job.retried', resourceType: 'job', resourceId: 'id' })
  retry(@CurrentPrincipal() caller: Principal, @Param('id', uuidParam()) id: string): Promise<JobDto> {
    return this.jobs.retry(caller, id);
  }

  /** Delete a queued or finished job and its attempt history. */
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted, with its attempt history.' })
  @ApiNotFoundResponse({ description: 'No such job, or not yours.' })
  @ApiConflictResponse({ description: 'The job is running; cancel it first.' })
  @AuditsRefusedInput({ action: 'job.deleted', resourceType: 'job', resourceId: 'id' })
  remove(@CurrentPrincipal() caller: Principal, @Param('id', uuidParam()) id: string): Promise<void> {
    return this.jobs.remove(caller, id);
  }
}
