import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AdminApi } from '@lib/common';
import { AuditLogPageDto, AuditLogQueryDto } from './audit.dto';
import { AuditService } from './audit.service';

/** Read-only on purpose: no route updates or deletes audit rows (CONTRACT §6). */
@ApiTags('audit')
@AdminApi()
@Controller('admin/audit-logs')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /** Audit rows, newest first (admin only). */
  @Get()
  @ApiOkResponse({ type: AuditLogPageDto })
  list(@Query() query: AuditLogQueryDto): Promise<AuditLogPageDto> {
    const { limit, cursor, ...filter } = query;
    return this.audit.list(filter, { limit, cursor });
  }
}
