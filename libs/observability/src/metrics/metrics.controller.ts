import { timingSafeEqual } from 'node:crypto';
import {
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Inject,
  Injectable,
  Res,
  UseGuards,
  VERSION_NEUTRAL,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { FastifyRequest } from 'fastify';
import { Public, UnauthenticatedError } from '@lib/common';
import { appConfig } from '@lib/config';

/** With METRICS_TOKEN set, scrapes must send `Authorization: Bearer <METRICS_TOKEN>`. */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  constructor(@Inject(appConfig.KEY) private readonly cfg: ConfigType<typeof appConfig>) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.cfg.metricsToken;
    if (!expected) return true;
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '';
    const given = Buffer.from(header.replace(/^Bearer\s+/i, ''));
    const wanted = Buffer.from(expected);
    if (given.length === wanted.length && timingSafeEqual(given, wanted)) return true;
    throw new UnauthenticatedError('A valid metrics token is required.');
  }
}

@ApiTags('operations')
// Public to the auth guard; METRICS_TOKEN, when set, is checked by MetricsTokenGuard.
@Public()
@SkipThrottle()
@Controller({ path: 'metrics', version: VERSION_NEUTRAL })
export class MetricsController extends PrometheusController {
  @Get()
  @UseGuards(MetricsTokenGuard)
  @ApiBearerAuth('metrics-token')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiOkResponse({ description: 'Metrics in Prometheus text format.', content: { 'text/plain': {} } })
  override async index(@Res({ passthrough: true }) response: unknown): Promise<string> {
    return super.index(response);
  }
}
