import type { IncomingHttpHeaders } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { type Dispatcher, request } from 'undici';
import { JobFailure } from '../job-failure';
import { TargetRefusedError } from './http-target-guard';

// Enough to follow up on a call; Set-Cookie and the like could carry the target's secrets.
const KEPT_HEADERS = ['content-type', 'content-length', 'location', 'retry-after', 'etag', 'last-modified'];
// A broken or hostile upstream must not park a job for months.
const MAX_RETRY_AFTER_MS = 86_400_000;

export interface HttpRequest {
  method: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body?: string;
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
 * The request an attempt sends: the payload's, plus X-Job-Id and X-Job-Attempt, and the
 * compressions inflated() handles (as fetch would offer them) unless the payload says.
 */
export function requestOf(
  payload: { method?: string; headers?: Record<string, string>; body?: unknown },
  jobId: string,
  attempt: number,
): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload.headers ?? {})) headers[name.toLowerCase()] = value;
  headers['accept-encoding'] ??= 'gzip, deflate, br';
  headers['x-job-id'] = jobId;
  headers['x-job-attempt'] = String(attempt);
  const method = payload.method ?? 'POST';
  if (payload.body == null || typeof payload.body === 'string') {
    return { method, headers, body: payload.body ?? undefined };
  }
  headers['content-type'] ??= 'application/json';
  return { method, headers, body: JSON.stringify(payload.body) };
}

/**
 * The request and the whole response body (at most `maxBytes` of it), within `timeoutMs`; any
 * status is a result here. A network error or the timeout is a retryable JobFailure; when `signal`
 * fires, its reason is thrown.
 *
 * undici's request() rather than fetch(): the same connection pool without the WHATWG Request,
 * Headers and stream objects, measured at three times fetch's calls per second (bench:http). One
 * AbortController joined to the attempt's signal by hand, because Node 20's AbortSignal.any and
 * AbortSignal.timeout make transferable signals that cost more than the call itself.
 */
export async function exchange(
  dispatcher: Dispatcher,
  url: URL,
  call: HttpRequest,
  limits: { timeoutMs: number; maxBytes: number },
  signal: AbortSignal,
): Promise<HttpResult> {
  if (signal.aborted) throw signal.reason as Error;
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, limits.timeoutMs);
  const forward = (): void => abort.abort();
  signal.addEventListener('abort', forward, { once: true });
  const started = performance.now();
  try {
    const response = await request(url, { ...call, signal: abort.signal, dispatcher });
    const read = await readCapped(
      inflated(response.body, response.headers['content-encoding']),
      limits.maxBytes,
    );
    return {
      status: response.statusCode,
      headers: keptHeaders(response.headers),
      body: read.text,
      bodyTruncated: read.truncated,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    if (signal.aborted) throw signal.reason as Error;
    if (timedOut) {
      const message = `${call.method} ${describe(url)}: no complete response in ${limits.timeoutMs} ms`;
      throw new JobFailure('HTTP_TIMEOUT', message);
    }
    throw networkFailure(error, call.method, url);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', forward);
  }
}

/** The failure a status outside `expectStatus` means: 5xx and 429 are retried, the rest are not. */
export function statusFailure(result: HttpResult, method: string, url: URL): JobFailure {
  const excerpt = result.body.slice(0, 200);
  const message = `${method} ${describe(url)} answered ${result.status}${excerpt ? `: ${excerpt}` : ''}`;
  if (result.status === 429 || result.status >= 500) {
    return new JobFailure(result.status === 429 ? 'HTTP_RATE_LIMITED' : 'HTTP_SERVER_ERROR', message, {
      retryAfterMs: retryAfterMs(result.headers['retry-after']),
    });
  }
  return new JobFailure('HTTP_UNEXPECTED_STATUS', message, { retryable: false });
}

/** The result within JOBS_MAX_RESULT_BYTES: JSON escaping can make a body grow up to sixfold. */
export function fitted(result: HttpResult, maxBytes: number): HttpResult {
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

function keptHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = headers[name];
    if (value !== undefined) kept[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return kept;
}

const INFLATERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * The body as the target meant it: inflated as it is read when it is content-encoded, so that
 * the cap applies to what a compression bomb would inflate to, not to its compressed size.
 * (undici's own decompress interceptor is experimental and warns at start-up.)
 */
function inflated(body: Readable, encoding: string | string[] | undefined): AsyncIterable<Uint8Array> {
  const inflater = typeof encoding === 'string' ? INFLATERS[encoding.trim().toLowerCase()] : undefined;
  if (!inflater) return body;
  // pipeline() destroys the body when the reader stops early or the inflater fails.
  return pipeline(body, inflater(), () => undefined) as unknown as AsyncIterable<Uint8Array>;
}

/** Reads at most `cap` bytes, dropping a character the cut would split. */
async function readCapped(
  body: AsyncIterable<Uint8Array>,
  cap: number,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  // Leaving the loop early destroys the stream, so an endless body costs no more than the cap.
  for await (const chunk of body) {
    truncated = size + chunk.byteLength > cap;
    chunks.push(truncated ? chunk.subarray(0, cap - size) : chunk);
    size += chunks[chunks.length - 1].byteLength;
    if (truncated) break;
  }
  // stream: true holds back an incomplete final character instead of turning it into U+FFFD.
  return { text: new TextDecoder().decode(Buffer.concat(chunks), { stream: truncated }), truncated };
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
