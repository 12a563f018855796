import type { LoggerOptions } from 'pino';
import { RequestContext } from '@lib/common';
import { REDACT_PATHS, REDACTED } from './redaction';

/**
 * The options of the process's one pino logger. The request id comes from the request context
 * through `mixin`, which pino calls only for a line it writes: a request that logs nothing pays
 * nothing (pino-http's middleware built and redacted two child loggers per request for that).
 */
export function rootLoggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    mixin: () => {
      const requestId = RequestContext.current()?.requestId;
      return requestId ? { reqId: requestId } : {};
    },
  };
}
