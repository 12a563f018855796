import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { RequestContext } from '@lib/common';
import { REDACT_PATHS, REDACTED } from './redaction';

/**
 * The one pino logger of the process. The request id comes from the request context through
 * `mixin`, which pino calls only for a line it writes: a request that logs nothing pays nothing
 * (pino-http built and redacted two child loggers per request for that).
 */
export function createRootLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    mixin: () => {
      const requestId = RequestContext.current()?.requestId;
      return requestId ? { reqId: requestId } : {};
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Nest's LoggerService on pino, with nestjs-pino's call shapes: the last extra argument is the
 * context, an object or Error first is merged into the line, and Nest's exception handlers'
 * `error(message, stack)` becomes `err`.
 */
export class AppLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  verbose(message: unknown, ...params: unknown[]): void {
    this.call('trace', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.call('debug', message, params);
  }
  log(message: unknown, ...params: unknown[]): void {
    this.call('info', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.call('warn', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.call('error', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.call('fatal', message, params);
  }

  private call(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const line: Record<string, unknown> = {};
    if (params.length > 0) line.context = params[params.length - 1];
    const [text, ...args] = params.slice(0, -1) as [string | undefined, ...unknown[]];
    if (typeof message === 'object' && message !== null) {
      if (message instanceof Error) line.err = message;
      else Object.assign(line, message);
      this.pino[level](line, text, ...args);
    } else if (level === 'error' && args.length === 0 && isStack(text)) {
      line.err = Object.assign(new Error(String(message)), { stack: text });
      this.pino.error(line);
    } else if (text === undefined) {
      this.pino[level](line, String(message));
    } else {
      this.pino[level](line, String(message), text, ...args);
    }
  }
}

/** Nest's own exception handlers call `error(message, stack, context)`. */
function isStack(text: unknown): text is string {
  return typeof text === 'string' && /\n\s*at /.test(text);
}
