import { Inject, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import { Agent, fetch, Headers } from 'undici';
import { jobsConfig } from '@lib/config';
import { JobFailure } from '../job-failure';
import { JobHandler, type HandlesJob, type JobContext } from '../job-handler';
import { HttpCircuitBreakers } from './http-circuit-breakers';
import { guardedLookup, HostAllowList, refuseUrl, TargetRefusedError } from './http-target-guard';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const MAX_TIMEOUT_MS = 300_000;
const STATUS_CLASS = /^[1-5]xx$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Framing and hop-by-hop headers belong to the connection, which the service owns.
const CONNECTION_HEADER =
  /^(connection|content-length|expect|keep-alive|proxy-connection|te|trailer|transfer-encoding|upgrade)$/i;
// Enough to follow up on a call; Set-Cookie and the like could carry the target's secrets.
const KEPT_HEADERS = ['content-type', 'content-length', 'location', 'retry-after', 'etag', 'last-modified'];
// A broken or hostile upstream must not park a job for months.
const MAX_RETRY_AFTER_MS = 86_400_000;

type StatusSpec = number | string | (number | string)[];

const isStatus = (value: unknown): boolean =>
  (Number.isInteger(value) && (value as number) >= 100 && (value as number) <= 599) ||
  (typeof value === 'string' && STATUS_CLASS.test(value));
const isStatusSpec = (value: unknown): boolean =>
  Array.isArray(value) ? value.length > 0 && value.length <= 20 && value.every(isStatus) : isStatus(value);

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
    description: 'Request headers. X-Job-Id and X-Job-Attempt are always set by the service.',
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

  @JSONSchema({ description: 'Limit on the whole exchange, body included. Default 10000.' })
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
  // Checked in validate(): class-validator has no union types.
  @IsOptional()
  expectStatus?: StatusSpec;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** The response body as UTF-8 text, cut at JOBS_HTTP_MAX_RESPONSE_BYTES. */
  body: string;
  bodyTruncated: boolean;
  durationMs: number;
}

/**
 * `http`: one HTTP call per attempt (CONTRACT §5). Connections are pooled per origin by one
 * undici Agent whose DNS lookup enforces the SSRF rules (http-target-guard.ts); redirects are
 * never followed, a 3xx is judged by `expectStatus` like any other status.
 */
@JobHandler({
  type: 'http',
  payload: HttpPayload,
  // Room for the longest allowed request timeout; the payload's timeoutMs is the real limit.
  defaultTimeoutSeconds: MAX_TIMEOUT_MS / 1000 + 30,
  description: 'Calls an HTTP(S) endpoint; retries on network errors, timeouts, 5xx and 429.',
})
export class HttpHandler implements HandlesJob<HttpPayload, HttpResult>, OnApplicationShutdown {
  private readonly allow: HostAllowList;
  private readonly agent: Agent;

  constructor(
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
    private readonly breakers: HttpCircuitBreakers,
  ) {
    this.allow = new HostAllowList(config.httpAllowedHosts);
    this.agent = new Agent({ connect: { lookup: guardedLookup(this.allow) } });
  }

  validate(payload: HttpPayload): { field: string; message: string }[] {
    let url: URL;
    try {
      url = new URL(payload.url);
    } catch {
      return [{ field: 'url', message: 'url must be an absolute http or https URL' }];
    }
    const refused = refuseUrl(url, this.allow);
    const errors = refused ? [{ field: 'url', message: refused }] : [];
    for (const [name, value] of Object.entries(payload.headers ?? {})) {
      const problem = headerProblem(name, value);
      if (problem) errors.push({ field: 'headers', message: problem });
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

  handle({ job, payload, attempt, signal }: JobContext<HttpPayload>): Promise<HttpResult> {
    const url = new URL(payload.url);
    // Again at run time: the allow-list may have changed since submit, and IP literals never
    // reach the guarded DNS lookup.
    const refused = refuseUrl(url, this.allow);
    if (refused) throw new JobFailure('HTTP_TARGET_REFUSED', refused, { retryable: false });
    return this.exchange(url, payload, requestOf(payload, job.id, attempt), signal);
  }

  /**
   * One call through the target origin's circuit breaker: the result when the status is
   * expected, else a JobFailure saying whether to retry. While the origin's circuit is open the
   * call fails fast with CIRCUIT_OPEN, retried when the circuit half-opens.
   */
  private async exchange(
    url: URL,
    payload: HttpPayload,
    request: Request,
    signal: AbortSignal,
  ): Promise<HttpResult> {
    const result = await this.breakers.execute(
      url.origin,
      () => this.call(url, payload.timeoutMs ?? 10_000, request, signal),
      countsAgainstTarget,
      signal,
    );
    if (!matches(payload.expectStatus ?? '2xx', result.status)) {
      throw statusFailure(result, request.method, url);
    }
    return fitted(result, this.config.maxResultBytes);
  }

  /** The request and the whole response body, within `timeoutMs`; any status is a result here. */
  private async call(
    url: URL,
    timeoutMs: number,
    request: Request,
    signal: AbortSignal,
  ): Promise<HttpResult> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const started = performance.now();
    try {
      const response = await fetch(url, {
        ...request,
        redirect: 'manual',
        signal: AbortSignal.any([signal, timeout]),
        dispatcher: this.agent,
      });
      const read = await readCapped(response.body, this.config.httpMaxResponseBytes);
      return {
        status: response.status,
        headers: keptHeaders(response.headers),
        body: read.text,
        bodyTruncated: read.truncated,
        durationMs: Math.round(performance.now() - started),
      };
    } catch (error) {
      if (signal.aborted) throw signal.reason as Error;
      if (timeout.aborted) {
        const message = `${request.method} ${describe(url)}: no complete response in ${timeoutMs} ms`;
        throw new JobFailure('HTTP_TIMEOUT', message);
      }
      throw networkFailure(error, request.method, url);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    // After the engine's drain: nothing is in flight any more, only idle keep-alive sockets.
    await this.agent.destroy();
  }
}

type Request = { method: string; headers: Headers; body?: string };

function requestOf(payload: HttpPayload, jobId: string, attempt: number): Request {
  const headers = new Headers(payload.headers);
  headers.set('x-job-id', jobId);
  headers.set('x-job-attempt', String(attempt));
  if (payload.body == null || typeof payload.body === 'string') {
    return { method: payload.method ?? 'POST', headers, body: payload.body ?? undefined };
  }
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  return { method: payload.method ?? 'POST', headers, body: JSON.stringify(payload.body) };
}

function keptHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = headers.get(name);
    if (value !== null) kept[name] = value;
  }
  return kept;
}

function headerProblem(name: string, value: unknown): string | null {
  if (!HEADER_NAME.test(name)) return `"${name}" is not a valid header name`;
  if (CONNECTION_HEADER.test(name)) return `the ${name} header is set by the service`;
  if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
    return `the ${name} header must be a string without line breaks`;
  }
  return null;
}

/** Reads at most `cap` bytes, dropping a character the cut would split. */
async function readCapped(
  body: AsyncIterable<Uint8Array> | null,
  cap: number,
): Promise<{ text: string; truncated: boolean }> {
  if (!body) return { text: '', truncated: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  // Leaving the loop early cancels the stream, so an endless body costs no more than the cap.
  for await (const chunk of body) {
    truncated = size + chunk.byteLength > cap;
    chunks.push(truncated ? chunk.subarray(0, cap - size) : chunk);
    size += chunks[chunks.length - 1].byteLength;
    if (truncated) break;
  }
  // stream: true holds back an incomplete final character instead of turning it into U+FFFD.
  return { text: new TextDecoder().decode(Buffer.concat(chunks), { stream: truncated }), truncated };
}

function matches(spec: StatusSpec, status: number): boolean {
  if (Array.isArray(spec)) return spec.some((one) => matches(one, status));
  return typeof spec === 'number' ? spec === status : spec[0] === String(status)[0];
}

/** The result within JOBS_MAX_RESULT_BYTES: JSON escaping can make a body grow up to sixfold. */
function fitted(result: HttpResult, maxBytes: number): HttpResult {
  let { body } = result;
  for (;;) {
    const size = Buffer.byteLength(JSON.stringify({ ...result, body }));
    if (size <= maxBytes || body.length === 0) break;
    body = body
      .slice(0, Math.floor(body.length * Math.min(0.9, maxBytes / size)))
      .replace(/[\ud800-\udbff]$/, '');
  }
  return body === result.body ? result : { ...result, body, bodyTruncated: true };
}

function statusFailure(result: HttpResult, method: string, url: URL): JobFailure {
  const excerpt = result.body.slice(0, 200);
  const message = `${method} ${describe(url)} answered ${result.status}${excerpt ? `: ${excerpt}` : ''}`;
  if (result.status === 429 || result.status >= 500) {
    return new JobFailure(result.status === 429 ? 'HTTP_RATE_LIMITED' : 'HTTP_SERVER_ERROR', message, {
      retryAfterMs: retryAfterMs(result.headers['retry-after']),
    });
  }
  return new JobFailure('HTTP_UNEXPECTED_STATUS', message, { retryable: false });
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined: use the backoff. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isNaN(ms) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

type Cause = { code?: unknown; message?: unknown; cause?: unknown };

// Duck-typed: errors from Node's core may come from another realm (vm contexts, Jest).
const causes = (error: unknown, depth = 0): Cause[] =>
  typeof error === 'object' && error !== null && depth < 5
    ? [error, ...causes((error as Cause).cause, depth + 1)]
    : [];

function networkFailure(error: unknown, method: string, url: URL): JobFailure {
  const chain = causes(error);
  const refused = chain.find((e) => e instanceof TargetRefusedError);
  if (refused) return new JobFailure('HTTP_TARGET_REFUSED', String(refused.message), { retryable: false });
  const code = chain.map((e) => e.code).find((c) => typeof c === 'string');
  const reason = String(code ?? chain[chain.length - 1]?.message ?? error);
  return new JobFailure('HTTP_NETWORK_ERROR', `${method} ${describe(url)} failed: ${reason}`);
}

/** The URL without its query, which often carries tokens, for error messages. */
function describe(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** What says the target is down: no answer, or 5xx/429. A 4xx, a cancel or an SSRF refusal do not. */
function countsAgainstTarget(outcome: { result?: HttpResult; error?: unknown }): boolean {
  if (outcome.result) return outcome.result.status >= 500 || outcome.result.status === 429;
  return (
    outcome.error instanceof JobFailure && ['HTTP_NETWORK_ERROR', 'HTTP_TIMEOUT'].includes(outcome.error.code)
  );
}
