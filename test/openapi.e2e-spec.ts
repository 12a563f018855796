import { spawnService } from './support/spawn-service';
import { createTestStore } from './support/test-store';

type Doc = {
  paths: Record<
    string,
    Record<
      string,
      {
        summary?: string;
        security?: object[];
        requestBody?: object;
        parameters?: { name: string; required?: boolean }[];
        responses: Record<string, { content?: object; headers?: Record<string, object> }>;
      }
    >
  >;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
};

// The built service, because the Swagger CLI plugin runs in `nest build` (tests transpile with SWC).
describe('OpenAPI document of the built service', () => {
  it('derives DTO schemas and query parameters, and gives every error the problem shape', async () => {
    const store = await createTestStore();
    try {
      const service = await spawnService(store.env);
      const doc = (await (await fetch(`${service.url}/docs-json`)).json()) as Doc;
      await service.stop();

      expect(doc.components.schemas.LoginDto).toMatchObject({
        properties: { email: expect.objectContaining({ format: 'email' }), password: expect.any(Object) },
        required: ['email', 'password'],
      });
      expect(Object.keys(doc.components.schemas.UserDto.properties ?? {})).not.toContain('passwordHash');
      // Formats a client generator can use: ids, instants and whole numbers, nullability kept.
      expect(doc.components.schemas.JobDto.properties).toMatchObject({
        id: { type: 'string', format: 'uuid' },
        ownerId: { type: 'string', format: 'uuid' },
        createdAt: { type: 'string', format: 'date-time' },
        startedAt: { type: 'string', format: 'date-time', nullable: true },
        priority: { type: 'integer', minimum: 1, maximum: 10 },
        attempts: { type: 'integer' },
      });
      expect(doc.components.schemas.CreateJobDto.properties).toMatchObject({
        priority: { type: 'integer', minimum: 1, maximum: 10 },
        timeoutSeconds: { type: 'integer' },
      });
      // PATCH takes null to clear a name or the phone.
      for (const dto of ['UpdateMeDto', 'AdminUpdateUserDto']) {
        expect(doc.components.schemas[dto].properties).toMatchObject({
          firstName: { type: 'string', nullable: true },
          lastName: { type: 'string', nullable: true },
        });
      }
      expect(doc.components.schemas.UpdateMeDto.properties?.phone).toMatchObject({ nullable: true });
      const listParams = doc.paths['/v1/admin/users'].get.parameters?.map((p) => p.name) ?? [];
      expect(listParams).toEqual(expect.arrayContaining(['limit', 'cursor', 'email', 'role', 'disabled']));

      // Each job type's payload schema, and an example request per type (CONTRACT §5).
      expect(doc.components.schemas.JobPayload_http).toMatchObject({
        properties: { url: expect.any(Object), expectStatus: expect.any(Object) },
        required: expect.arrayContaining(['url']),
      });
      expect(doc.components.schemas.JobPayload_sleep.required).toEqual(['ms']);
      const createJob = doc.paths['/v1/jobs'].post as unknown as {
        requestBody: { content: { 'application/json': { examples: Record<string, { value: unknown }> } } };
      };
      expect(createJob.requestBody.content['application/json'].examples).toMatchObject({
        http: { value: { type: 'http', payload: { url: expect.stringMatching(/^https:/) } } },
        sleep: { value: { type: 'sleep', payload: { ms: 2000 } } },
        noop: { value: { type: 'noop', payload: {} } },
      });

      expect(doc.components.schemas.ProblemDetails.required).toEqual(
        expect.arrayContaining(['type', 'title', 'status', 'detail', 'instance', 'requestId']),
      );
      // What every route answers, documented where it applies, with the headers it sends.
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const route = `${method} ${path}`;
          expect({ route, summary: op.summary }).toEqual({ route, summary: expect.stringMatching(/\S/) });
          const expected = [
            ...(op.security?.length ? ['401'] : []),
            ...(op.requestBody ? ['400'] : []),
            ...(['post', 'put', 'patch', 'delete'].includes(method) ? ['413', '415'] : []),
            ...(path.includes('{') ? ['404'] : []),
            ...(path.startsWith('/v1/') ? ['429', '503'] : []),
          ];
          for (const status of expected)
            expect(`${route} ${status} ${status in op.responses}`).toBe(`${route} ${status} true`);
          for (const [status, response] of Object.entries(op.responses)) {
            expect(`${route} ${status} ${Object.keys(response.headers ?? {}).join(',')}`).toContain(
              'X-Request-Id',
            );
            if (status === '429' || status === '503')
              expect(Object.keys(response.headers ?? {})).toContain('Retry-After');
          }
        }
      }
      expect(Object.keys(doc.paths['/v1/jobs'].post.responses['202'].headers ?? {})).toContain('Location');
      expect(doc.paths['/v1/jobs'].get.parameters?.find((p) => p.name === 'limit')?.required).toBeFalsy();
      expect(doc.components.schemas.BatchItemProblemDto.required).toEqual(
        expect.arrayContaining(['instance', 'requestId', 'code']),
      );

      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          expect(`${method} ${path} ${JSON.stringify(op.responses.default?.content)}`).toContain(
            'problem+json',
          );
          for (const [status, response] of Object.entries(op.responses)) {
            // Probes answer in terminus' format by contract (CONTRACT §7), not problem+json.
            if (Number(status) >= 400 && !path.startsWith('/health/'))
              expect(`${method} ${path} ${status} ${JSON.stringify(response.content)}`).toContain(
                'ProblemDetails',
              );
          }
        }
      }
    } finally {
      await store.drop();
    }
  });
});
