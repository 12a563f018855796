import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditLog } from './audit-log.entity';
import { AuditRetention, auditRetentionMetricProviders } from './audit-retention';
import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';

/** The append-only audit trail (CONTRACT §6); other modules record through the exported AuditService. */
@Module({
  imports: [TypeOrmModule.forFeature([AuditLog])],
  controllers: [AuditController],
  providers: [AuditService, AuditRetention, ...auditRetentionMetricProviders],
  exports: [AuditService],
})
export class AuditModule {}
