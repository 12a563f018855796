import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { genRequestId } from '@lib/common';
import { appConfig } from '@lib/config';
import { REDACT_PATHS, REDACTED } from './redaction';

// Probes and scrapes would drown the request log; their metrics still count them.
const QUIET_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

/** One JSON line per event, with the request id on every line logged while serving a request. */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [appConfig.KEY],
      useFactory: (cfg: ConfigType<typeof appConfig>) => ({
        pinoHttp: {
          level: cfg.logLevel,
          genReqId: (req: IncomingMessage) => genRequestId(req),
          redact: { paths: REDACT_PATHS, censor: REDACTED },
          autoLogging: { ignore: (req: IncomingMessage) => QUIET_PATHS.has((req.url ?? '').split('?')[0]) },
          customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
            err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
          quietReqLogger: true,
        },
      }),
    }),
  ],
})
export class LoggingModule {}
