import { randomUUID } from 'node:crypto';
import { REQUEST_ID_HEADER } from './request-id';
import { PROBLEM_CONTENT_TYPE, statusTitle } from '../errors/problem';
import { toProblem } from '../errors/to-problem';

const STATUS_BY_PARSER_CODE: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};
const DETAIL_BY_STATUS: Record<number, string> = {
  431: 'The request headers are larger than the server accepts (16 KiB in all).',
  408: 'The request did not arrive in time.',
  400: 'The request is not valid HTTP/1.1.',
};

/**
 * The raw HTTP response for an error Node's HTTP parser raises before there is a request to
 * answer (headers over its limit, a malformed request line, a request that never finished):
 * problem+json with a request id and `headers` (the security headers), like every other error
 * (CONTRACT §3), where Fastify's default wrote its own JSON shape. The connection closes after it.
 */
export function clientErrorResponse(
  error: Error & { code?: string; rawPacket?: Buffer },
  headers: Record<string, string>,
): string {
  const status = STATUS_BY_PARSER_CODE[error.code ?? ''] ?? 400;
  // The headers were not read, so the caller's X-Request-Id is unknown: a fresh one.
  const requestId = randomUUID();
  const exception = Object.assign(new Error(DETAIL_BY_STATUS[status]), { statusCode: status });
  const { problem } = toProblem(exception, { instance: requestPath(error.rawPacket), requestId }, {});
  const body = JSON.stringify(problem);
  const lines = [
    `HTTP/1.1 ${status} ${statusTitle(status)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    `${REQUEST_ID_HEADER}: ${requestId}`,
    `content-type: ${PROBLEM_CONTENT_TYPE}`,
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** The path of the request line the parser saw, if it saw one (`GET /v1/jobs?x HTTP/1.1`). */
function requestPath(raw: Buffer | undefined): string {
  const line = raw?.subarray(0, 2048).toString('latin1').split('\r\n', 1)[0] ?? '';
  const target = line.split(' ')[1] ?? '';
  return /^\/[\x21-\x7e]*$/.test(target) ? target.split('?')[0].slice(0, 200) : '/';
}
