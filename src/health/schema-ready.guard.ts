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

  // Not async: a boolean lets Nest skip awaiting this guard on every request once applied.
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.migrations.applied) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!request.url.startsWith('/v1/')) return true;
    return this.migrations.allApplied().then((applied) => {
      if (!applied) throw new MigrationsPendingError();
      return true;
    });
  }
}
