import { Global, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { appConfig } from '@lib/config';
import { logAccess } from './access-log';
import { AppLogger, createRootLogger } from './app-logger';

@Injectable()
class AccessLogHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly logger: AppLogger,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('onResponse', (request, reply, done) => {
      logAccess(this.logger.pino, request, reply);
      done();
    });
  }
}

/**
 * One JSON line per event, with the request id on every line logged while serving a request,
 * and an access line per request at info (4xx at warn, 5xx at error). Use AppLogger as the app
 * logger (`app.useLogger(app.get(AppLogger))`).
 */
@Global()
@Module({
  providers: [
    {
      provide: AppLogger,
      inject: [appConfig.KEY],
      useFactory: (cfg: ConfigType<typeof appConfig>) => new AppLogger(createRootLogger(cfg.logLevel)),
    },
    AccessLogHook,
  ],
  exports: [AppLogger],
})
export class LoggingModule {}
