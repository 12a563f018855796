import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import { appConfig } from '@lib/config';
import { logAccess } from './access-log';
import { rootLoggerOptions } from './root-logger';

@Injectable()
class AccessLogHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly logger: PinoLogger,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('onResponse', (request, reply, done) => {
      logAccess(this.logger.logger, request, reply);
      done();
    });
  }
}

/**
 * One JSON line per event through nestjs-pino (`app.useLogger(app.get(Logger))`), with the
 * request id on every line logged while serving a request and an access line per request at
 * info (4xx at warn, 5xx at error). nestjs-pino's pino-http middleware is not mounted
 * (`forRoutes: []`): it cost ~60 µs of CPU per request even when nothing was logged. The root
 * logger's mixin and an onResponse hook (access-log.ts) do its two jobs instead.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [appConfig.KEY],
      useFactory: (cfg: ConfigType<typeof appConfig>) => ({
        // access-log.ts serialises the request and response itself.
        pinoHttp: { ...rootLoggerOptions(cfg.logLevel), wrapSerializers: false },
        forRoutes: [],
      }),
    }),
  ],
  providers: [AccessLogHook],
})
export class LoggingModule {}
