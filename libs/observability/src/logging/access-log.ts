import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import pino, { type Level, type Logger } from 'pino';

// Probes and scrapes would drown the request log; their metrics still count them.
const QUIET_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

function levelOf(statusCode: number): Level {
  return statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';
}

/**
 * One line per finished request, in pino-http's shape (`reqId`, `req`, `res`, `responseTime`),
 * redacted by the logger's paths. For Fastify's onResponse hook: the level is checked first, so
 * at LOG_LEVEL=warn a 2xx costs one comparison.
 */
export function logAccess(logger: Logger, request: FastifyRequest, reply: FastifyReply): void {
  const level = levelOf(reply.statusCode);
  if (!logger.isLevelEnabled(level)) return;
  if (QUIET_PATHS.has(request.url.split('?')[0])) return;
  logger[level](
    {
      reqId: String(request.id),
      req: pino.stdSerializers.req(request.raw as IncomingMessage & { id: string }),
      res: pino.stdSerializers.res(reply.raw),
      responseTime: Math.round(reply.elapsedTime),
    },
    level === 'error' ? 'request errored' : 'request completed',
  );
}
