import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id when it is well-formed (CONTRACT §3), else a fresh UUID. */
export function resolveRequestId(headers: IncomingHttpHeaders): string {
  const given = headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && ACCEPTED.test(given) ? given : randomUUID();
}

/**
 * Fastify's `genReqId`. The id is also kept on the raw request, where the access log's request
 * serialiser reads it.
 */
export function genRequestId(raw: IncomingMessage): string {
  const holder = raw as IncomingMessage & { id?: string };
  holder.id ??= resolveRequestId(raw.headers);
  return holder.id;
}
