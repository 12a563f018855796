import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuthenticatedApi } from '@lib/common';
import { JobHandlerRegistry } from './job-handler-registry';
import { JobTypeListDto } from './jobs.dto';

@ApiTags('jobs')
@AuthenticatedApi()
@Controller('job-types')
export class JobTypesController {
  constructor(private readonly registry: JobHandlerRegistry) {}

  /** The registered job types, with the JSON Schema each payload is validated against. */
  @Get()
  @ApiOkResponse({ type: JobTypeListDto })
  list(): JobTypeListDto {
    return {
      items: this.registry.all().map((type) => ({
        type: type.type,
        description: type.options.description ?? null,
        payloadSchema: type.payloadSchema,
        defaultTimeoutSeconds: type.defaultTimeoutSeconds,
        defaultMaxAttempts: type.defaultMaxAttempts,
      })),
    };
  }
}
