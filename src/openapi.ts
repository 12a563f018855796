import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
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
      { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when set' },
      'metrics-token',
    )
    .build();
  const document = withJobPayloads(
    withProblemResponses(SwaggerModule.createDocument(app, config)),
    app.get(JobHandlerRegistry, { strict: false }).all(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}

/**
 * Every error of every route has one shape; declaring it once here keeps controllers to a
 * description per status. Adds the schema, gives each documented 4xx/5xx that shape, and a
 * `default` response for the rest (400, 413, 429, 500, 503 can happen on any route).
 */
function withProblemResponses(document: OpenAPIObject): OpenAPIObject {
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, ProblemDetails: PROBLEM_SCHEMA };
  const content = { 'application/problem+json': { schema: PROBLEM_REF } };
  for (const path of Object.values(document.paths)) {
    for (const operation of Object.values(path)) {
      if (!operation || typeof operation !== 'object' || !('responses' in operation)) continue;
      const responses = operation.responses as Record<string, { description: string; content?: object }>;
      for (const [status, response] of Object.entries(responses)) {
        if (Number(status) >= 400 && !response.content) response.content = content;
      }
      responses.default = { description: 'Error (RFC 9457 problem details)', content };
    }
  }
  return document;
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
