import { Controller, Get, Res, ServiceUnavailableException, VERSION_NEUTRAL } from '@nestjs/common';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '@lib/common';
import type { FastifyReply } from 'fastify';
import { ReadinessIndicators } from './readiness.indicators';

@ApiTags('operations')
@Public()
@SkipThrottle()
@Controller({ path: 'health', version: VERSION_NEUTRAL })
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly readiness: ReadinessIndicators,
  ) {}

  /** Liveness: the process serves requests. Never touches the store, so an outage does not restart pods. */
  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness probe' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /**
   * Readiness: not shutting down, the store answers within 1 s, and migrations are applied.
   * Informational checks (open circuits, say) are listed but always up.
   */
  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness probe' })
  @ApiServiceUnavailableResponse({ description: 'Not ready; the failing check is named in `error`.' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.readiness.shuttingDown(),
        () => this.readiness.store(),
        () => this.readiness.migrationsApplied(),
        ...this.readiness.informational(),
      ]);
    } catch (error) {
      // Probes and operators read terminus' own body (which check failed), not a problem+json.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
