import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { MigrationStatus } from '@lib/database';
import { MigrationsPendingError } from './health.errors';

/**
 * First global guard: while migrations are pending (a replica started with MIGRATIONS_RUN=false
 * before the pipeline ran them), the API answers 503 with Retry-After, as readiness says, instead
 * of failing on a missing table with a 500. Probes, metrics and /docs still answer. Once the
 * migrations are applied this is one property read per request.
 */
@Injectable()
export class SchemaReadyGuard implements CanActivate {
  constructor(private readonly migrations: MigrationStatus) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.migrations.applied) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!request.url.startsWith('/v1/') || (await this.migrations.allApplied())) return true;
    throw new MigrationsPendingError();
  }
}
