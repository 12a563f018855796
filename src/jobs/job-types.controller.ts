import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiSecurity, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { JobHandlerRegistry } from './job-handler-registry';
import { JobTypeListDto } from './jobs.dto';

@ApiTags('jobs')
@ApiBearerAuth('bearer')
@ApiSecurity('api-key')
@ApiUnauthorizedResponse({ description: 'Missing, invalid or expired credentials.' })
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
