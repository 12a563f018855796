import { HttpException } from '@nestjs/common';
import { isStoreUnavailable } from '@lib/database';
import { DomainError } from './domain-error';
import { type ProblemResponse, problemType, statusTitle } from './problem';

export interface ProblemContext {
  instance: string;
  requestId: string;
}

/** Seconds a client should wait before retrying while the store is unavailable. */
export const STORE_RETRY_AFTER_SECONDS = 5;

// Codes for errors that do not come from business code: framework and HTTP-level failures.
const CODE_BY_STATUS: Record<number, string> = {
  400: 'REQUEST.INVALID',
  401: 'AUTH.UNAUTHENTICATED',
  403: 'AUTH.FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  413: 'REQUEST.TOO_LARGE',
  415: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

// Fastify's own client errors (body parsing, limits) reach the filter with a status and a code.
const FASTIFY_DETAIL: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'The request body is not valid JSON.',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request body is empty but Content-Type is application/json.',
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is larger than the configured limit (MAX_BODY_BYTES).',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported Content-Type; send application/json.',
  // The router's own messages quote the whole path back, up to the URL's 16 KiB limit.
  FST_ERR_BAD_URL: 'The URL path holds a malformed percent-encoding.',
  FST_ERR_MAX_PARAM_LENGTH: 'A path parameter is longer than the router accepts (100 characters).',
};

/**
 * Turns anything thrown while serving a request into a problem+json response. Only client
 * errors keep their message; a 5xx says nothing about its cause (it goes to the log).
 */
export function toProblem(
  exception: unknown,
  ctx: ProblemContext,
  statusByCode: Readonly<Record<string, number>>,
): ProblemResponse {
  if (exception instanceof DomainError) {
    const status = statusByCode[exception.code];
    if (status !== undefined) {
      const response = build(status, exception.code, exception.message, ctx, exception.fieldErrors);
      if (exception.retryAfterSeconds !== undefined) {
        response.headers['Retry-After'] = String(exception.retryAfterSeconds);
      }
      return response;
    }
  } else if (isStoreUnavailable(exception)) {
    const response = build(
      503,
      'STORE.UNAVAILABLE',
      'The data store is temporarily unavailable; retry later.',
      ctx,
    );
    response.headers['Retry-After'] = String(STORE_RETRY_AFTER_SECONDS);
    return response;
  } else if (exception instanceof HttpException) {
    const status = exception.getStatus();
    return build(status, CODE_BY_STATUS[status] ?? `HTTP.${status}`, httpDetail(exception, status), ctx);
  } else if (isFastifyClientError(exception)) {
    const status = exception.statusCode;
    const detail = FASTIFY_DETAIL[exception.code ?? ''] ?? exception.message;
    return build(status, CODE_BY_STATUS[status] ?? `HTTP.${status}`, detail, ctx);
  }
  return build(500, 'INTERNAL', 'An unexpected error occurred.', ctx);
}

function build(
  status: number,
  code: string,
  detail: string,
  ctx: ProblemContext,
  errors?: { field: string; message: string }[],
): ProblemResponse {
  const headers: Record<string, string> = {};
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
  return {
    problem: {
      type: problemType(code),
      title: statusTitle(status),
      status,
      detail,
      instance: ctx.instance,
      requestId: ctx.requestId,
      code,
      ...(errors ? { errors } : {}),
    },
    headers,
  };
}

function httpDetail(exception: HttpException, status: number): string {
  if (status >= 500) return statusTitle(status);
  if (status === 429) return 'Too many requests; retry after the time given in Retry-After.';
  const response = exception.getResponse();
  const message = typeof response === 'string' ? response : (response as { message?: unknown }).message;
  return typeof message === 'string' ? message : statusTitle(status);
}

function isFastifyClientError(e: unknown): e is Error & { statusCode: number; code?: string } {
  const statusCode = (e as { statusCode?: unknown } | null)?.statusCode;
  return e instanceof Error && typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500;
}
