import type { LoggerService } from '@nestjs/common';
import pino from 'pino';
import { rootLoggerOptions } from './root-logger';

/**
 * Where a start that fails says why: pino lines on stderr, shaped like every other line of the
 * service (`level` 60 for fatal, `time`, `msg`), so that a log pipeline keyed on those fields
 * sees the failure too. Nest's ConsoleLogger had written `"level":"error"` and `message` here.
 */
export const startupLog = pino(rootLoggerOptions('warn'), pino.destination({ fd: 2, sync: true }));

/**
 * Nest's logger while the app is built (NestFactory.create), before nestjs-pino takes over.
 * Only warn and above: with `bufferLogs` Nest replays everything through the app's own logger
 * once it takes over, and flushes here only when the build fails.
 */
export class StartupLogger implements LoggerService {
  log(): void {}

  warn(message: unknown, ...params: unknown[]): void {
    write('warn', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    write('error', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    write('fatal', message, params);
  }
}

/** Nest passes `(message, stack?, context?)`, the context last. */
function write(level: 'warn' | 'error' | 'fatal', message: unknown, params: unknown[]): void {
  const context = params.length > 0 && typeof params.at(-1) === 'string' ? params.at(-1) : undefined;
  const stack = params.length > 1 && typeof params[0] === 'string' ? params[0] : undefined;
  if (message instanceof Error) startupLog[level]({ context, err: message }, message.message);
  else startupLog[level]({ context, stack }, String(message));
}
