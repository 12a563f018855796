import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AdminApi } from '@lib/common';
import { JobQueuesService } from './job-queues.service';
import { QueueDto, QueueListDto } from './jobs.dto';

@ApiTags('admin: queues')
@AdminApi()
@Controller('admin/queues')
export class AdminQueuesController {
  constructor(private readonly queues: JobQueuesService) {}

  /** One queue per job type: paused, counts by status, age of the oldest ready job. */
  @Get()
  @ApiOkResponse({ type: QueueListDto })
  async list(): Promise<QueueListDto> {
    return { items: await this.queues.list() };
  }

  /** Stops workers on every replica from starting jobs of this type (within 1 s); it still accepts jobs. */
  @Post(':type/pause')
  @HttpCode(200)
  @ApiOkResponse({ type: QueueDto })
  @ApiNotFoundResponse({ description: 'No such job type.' })
  pause(@Param('type') type: string): Promise<QueueDto> {
    return this.queues.setPaused(type, true);
  }

  /** Resume a paused job type on every replica. */
  @Post(':type/resume')
  @HttpCode(200)
  @ApiOkResponse({ type: QueueDto })
  @ApiNotFoundResponse({ description: 'No such job type.' })
  resume(@Param('type') type: string): Promise<QueueDto> {
    return this.queues.setPaused(type, false);
  }
}
