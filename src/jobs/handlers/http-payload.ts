import { IsIn, IsInt, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import { type HostAllowList, refuseUrl } from './http-target-guard';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export const MAX_TIMEOUT_MS = 300_000;
export const DEFAULT_TIMEOUT_MS = 10_000;
const STATUS_CLASS = /^[1-5]xx$/;
// What common servers accept (Node refuses more than 16 KiB of headers with 431), so a job is
// refused at submit rather than failing on every attempt.
const MAX_HEADERS = 64;
const MAX_HEADER_BYTES = 16 * 1024;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Framing and hop-by-hop headers belong to the connection, which the service owns; so does Host,
// which names the URL's host: set apart, it would reach a virtual host behind the same address
// that the URL (all the SSRF guard sees) does not name.
const CONNECTION_HEADER =
  /^(connection|content-length|expect|host|keep-alive|proxy-connection|te|trailer|transfer-encoding|upgrade)$/i;

export type StatusSpec = number | string | (number | string)[];

@JSONSchema({
  description: 'Calls `url` once per attempt; 5xx, 429, timeouts and network errors are retried.',
  example: { url: 'https://hooks.example.com/orders', body: { orderId: 42 }, expectStatus: [200, 201] },
})
export class HttpPayload {
  @JSONSchema({ format: 'uri', description: 'http or https; private and loopback targets are refused.' })
  @IsString()
  @MaxLength(2048)
  url!: string;

  @JSONSchema({ description: 'Default POST.' })
  @IsOptional()
  @IsIn(METHODS)
  method?: (typeof METHODS)[number];

  @JSONSchema({
    type: 'object',
    additionalProperties: { type: 'string' },
    maxProperties: MAX_HEADERS,
    description:
      `Request headers, at most ${MAX_HEADERS} and ${MAX_HEADER_BYTES / 1024} KiB of names and values. ` +
      'X-Job-Id, X-Job-Attempt, Host and the framing and hop-by-hop headers are set by the service.',
    example: { authorization: 'Bearer …' },
  })
  @IsOptional()
  @IsObject()
  headers?: Record<string, string>;

  @JSONSchema({
    description: 'Any JSON value, sent as JSON (content-type application/json); a string is sent as is.',
  })
  @IsOptional()
  body?: unknown;

  @JSONSchema({ description: `Limit on the whole exchange, body included. Default ${DEFAULT_TIMEOUT_MS}.` })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TIMEOUT_MS)
  timeoutMs?: number;

  @JSONSchema({
    oneOf: [
      { type: 'integer', minimum: 100, maximum: 599 },
      { type: 'string', pattern: STATUS_CLASS.source },
      { type: 'array', items: { oneOf: [{ type: 'integer' }, { type: 'string' }] }, maxItems: 20 },
    ],
    description: 'Statuses that mean success: 201, "2xx" or a list of both. Default "2xx".',
  })
  // Checked in payloadProblems(): class-validator has no union types.
  @IsOptional()
  expectStatus?: StatusSpec;
}

/**
 * The rules the DTO's decorators cannot say: a parseable URL the SSRF guard accepts, header
 * names and values that cannot split a request, a valid status spec, no body on GET/HEAD.
 */
export function payloadProblems(
  payload: HttpPayload,
  allow: HostAllowList,
): { field: string; message: string }[] {
  let url: URL;
  try {
    url = new URL(payload.url);
  } catch {
    return [{ field: 'url', message: 'url must be an absolute http or https URL' }];
  }
  const refused = refuseUrl(url, allow);
  const errors = refused ? [{ field: 'url', message: refused }] : [];
  const headers = Object.entries(payload.headers ?? {});
  for (const [name, value] of headers) {
    const problem = headerProblem(name, value);
    if (problem) errors.push({ field: 'headers', message: problem });
  }
  const headerBytes = headers.reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(String(value)),
    0,
  );
  if (headers.length > MAX_HEADERS || headerBytes > MAX_HEADER_BYTES) {
    const message = `at most ${MAX_HEADERS} headers of ${MAX_HEADER_BYTES} bytes in all (names and values)`;
    errors.push({ field: 'headers', message });
  }
  if (payload.expectStatus !== undefined && !isStatusSpec(payload.expectStatus)) {
    const message = 'expectStatus must be a status (100-599), a class like "2xx", or a list of up to 20';
    errors.push({ field: 'expectStatus', message });
  }
  const method = payload.method ?? 'POST';
  if ((method === 'GET' || method === 'HEAD') && payload.body != null) {
    errors.push({ field: 'body', message: `a ${method} request cannot have a body` });
  }
  return errors;
}

/** Does `status` mean success under `spec` (201, "2xx", or a list of both)? */
export function matchesStatus(spec: StatusSpec, status: number): boolean {
  if (Array.isArray(spec)) return spec.some((one) => matchesStatus(one, status));
  return typeof spec === 'number' ? spec === status : spec[0] === String(status)[0];
}

const isStatus = (value: unknown): boolean =>
  (Number.isInteger(value) && (value as number) >= 100 && (value as number) <= 599) ||
  (typeof value === 'string' && STATUS_CLASS.test(value));
const isStatusSpec = (value: unknown): boolean =>
  Array.isArray(value) ? value.length > 0 && value.length <= 20 && value.every(isStatus) : isStatus(value);

function headerProblem(name: string, value: unknown): string | null {
  if (!HEADER_NAME.test(name)) return `"${name}" is not a valid header name`;
  if (CONNECTION_HEADER.test(name)) return `the ${name} header is set by the service`;
  if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
    return `the ${name} header must be a string without line breaks`;
  }
  return null;
}
