import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  DocumentBuilder,
  type HeaderObject,
  type OpenAPIObject,
  type OperationObject,
  type ResponseObject,
  SwaggerModule,
} from '@nestjs/swagger';

import { JobHandlerRegistry, type JobType } from './jobs/job-handler-registry';

export const API_KEY_SCHEME = 'api-key';
export const BEARER_SCHEME = 'bearer';

const PROBLEM_REF = { $ref: '#/components/schemas/ProblemDetails' };

/** Swagger UI at /docs and the OpenAPI 3 document at /docs-json (CONTRACT §3). */
export function setupOpenApi(app: NestFastifyApplication, version: string): void {
  const config = new DocumentBuilder()
    .setTitle('jobs-service')
    .setDescription(
      'Submit, run and track background jobs over HTTP. Errors are RFC 9457 problem+json; ' +
        'every response carries X-Request-Id.',
    )
    .setVersion(version)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, API_KEY_SCHEME)
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'opaque', description: 'METRICS_TOKEN, when set' },
      'metrics-token',
    )
    .build();
  // Built on the first request for it, not at start: scanning every route and DTO took a tenth
  // of the embedded store's start → ready (profile, docs/performance.md), and most replicas are
  // never asked for it.
  const document = (): OpenAPIObject =>
    withJobPayloads(
      withProblemResponses(SwaggerModule.createDocument(app, config)),
      app.get(JobHandlerRegistry, { strict: false }).all(),
    );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}

/**
 * Every error of every route has one shape, and most statuses follow from what a route is; both
 * are declared here once rather than on each controller. Adds the problem schema and, where a
 * controller did not describe them: 400 for a route with input, 401 (and `WWW-Authenticate`)
 * for one behind credentials, 404 for one naming a resource, 413 and 415 for a method that may
 * carry a body (the parser answers them before the route, whether or not it reads one),
 * 429 and 503 (both with `Retry-After`) for every /v1 route, and a `default` for the rest. Every
 * response carries `X-Request-Id`, every /v1 response the `X-RateLimit-*` headers.
 */
function withProblemResponses(document: OpenAPIObject): OpenAPIObject {
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, ProblemDetails: PROBLEM_SCHEMA };
  document.components.headers = { ...document.components.headers, ...HEADERS };
  const content = { 'application/problem+json': { schema: PROBLEM_REF } };
  for (const [path, item] of Object.entries(document.paths)) {
    const versioned = path.startsWith('/v1/');
    for (const [method, operation] of Object.entries(item)) {
      if (!operation || typeof operation !== 'object' || !('responses' in operation)) continue;
      const op = operation as OperationObject;
      const responses = op.responses as Record<string, ResponseObject>;
      const implied: [string, string, boolean][] = [
        [
          '400',
          'Invalid input: malformed JSON, an unknown field, or a value that fails validation (`errors` names each).',
          Boolean(op.parameters?.length || op.requestBody),
        ],
        ['401', 'Missing, invalid or expired credentials.', Boolean(op.security?.length)],
        ['404', 'No such resource, or one the caller may not see.', /\{[^}]+\}/.test(path)],
        ['413', 'Body over MAX_BODY_BYTES.', BODY_METHODS.has(method)],
        ['415', 'A body that is not JSON.', BODY_METHODS.has(method)],
        ['429', 'Rate limited; retry after `Retry-After` seconds.', versioned],
        ['503', 'The store is unavailable; retry after `Retry-After` seconds.', versioned],
      ];
      for (const [status, description, applies] of implied) {
        if (applies && !responses[status]) responses[status] = { description };
      }
      responses.default = { description: 'Error (RFC 9457 problem details)' };
      for (const [status, response] of Object.entries(responses)) {
        if ((status === 'default' || Number(status) >= 400) && !response.content) response.content = content;
        response.headers = { ...response.headers, ...headersOf(path, method, status, versioned) };
      }
    }
  }
  return document;
}

const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

const HEADERS: Record<string, HeaderObject> = {
  'X-Request-Id': {
    description: "The caller's request id if valid, else a generated one.",
    schema: { type: 'string' },
  },
  'X-RateLimit-Limit': {
    description: "The caller's requests per minute (with rate limits on).",
    schema: { type: 'integer' },
  },
  'X-RateLimit-Remaining': {
    description: 'Requests left in the current window.',
    schema: { type: 'integer' },
  },
  'X-RateLimit-Reset': { description: 'Seconds until the window resets.', schema: { type: 'integer' } },
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
  'WWW-Authenticate': { description: '`Bearer`.', schema: { type: 'string' } },
  Location: { description: "The job's URL, /v1/jobs/{id}.", schema: { type: 'string' } },
};

const header = (name: string) => ({ [name]: { $ref: `#/components/headers/${name}` } });

function headersOf(path: string, method: string, status: string, versioned: boolean): Record<string, object> {
  return {
    ...header('X-Request-Id'),
    ...(versioned
      ? { ...header('X-RateLimit-Limit'), ...header('X-RateLimit-Remaining'), ...header('X-RateLimit-Reset') }
      : {}),
    ...(status === '429' || status === '503' ? header('Retry-After') : {}),
    ...(status === '401' ? header('WWW-Authenticate') : {}),
    ...(path === '/v1/jobs' && method === 'post' && (status === '202' || status === '200')
      ? header('Location')
      : {}),
  };
}

/**
 * A job's payload depends on its type, so the DTO can only say "object". The document adds each
 * type's payload schema (the one submissions are validated against, as GET /v1/job-types serves
 * it) as `JobPayload_<type>`, and an example request per type on POST /v1/jobs.
 */
function withJobPayloads(document: OpenAPIObject, types: JobType[]): OpenAPIObject {
  document.components ??= {};
  const schemas = (document.components.schemas ??= {});
  for (const type of types) schemas[`JobPayload_${type.type}`] = type.payloadSchema;
  const body = document.paths['/v1/jobs']?.post?.requestBody;
  const json = body && 'content' in body ? body.content['application/json'] : undefined;
  if (json) {
    json.examples = Object.fromEntries(
      types.map((type) => [
        type.type,
        {
          summary: type.options.description ?? type.type,
          value: { type: type.type, payload: type.payloadSchema.example ?? {} },
        },
      ]),
    );
  }
  return document;
}

const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'instance', 'requestId', 'code'],
  properties: {
    type: { type: 'string', example: '/problems/request.validation-failed' },
    title: { type: 'string', example: 'Bad Request' },
    status: { type: 'integer', example: 400 },
    detail: { type: 'string' },
    instance: { type: 'string', example: '/v1/jobs' },
    requestId: { type: 'string' },
    code: { type: 'string', example: 'REQUEST.VALIDATION_FAILED' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};
