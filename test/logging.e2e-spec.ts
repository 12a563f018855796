import { spawnService } from './support/spawn-service';
import { createTestStore } from './support/test-store';

describe('logs (CONTRACT §7)', () => {
  it('are JSON lines with the request id, and never carry credentials', async () => {
    const store = await createTestStore();
    try {
      const service = await spawnService(store.env);
      const secrets: string[] = [
        'Bearer eyJhbGciOiJIUzI1NiJ9.secret-jwt',
        'jsk_live_secret_api_key',
        'session=secret-cookie',
      ];
      const res = await fetch(`${service.url}/v1/no-such-route`, {
        headers: {
          authorization: secrets[0],
          'x-api-key': secrets[1],
          cookie: secrets[2],
          'x-request-id': 'log-check-7',
        },
      });
      expect(res.status).toBe(404);
      const password = 'correct-horse-battery-staple-9';
      const login = await fetch(`${service.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'someone@test.local', password }),
      });
      expect(login.status).toBe(401);
      secrets.push(password);
      await service.stop();

      const records = service.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records.length).toBeGreaterThan(0);
      // The start line names the bound address, not only the URL to open (127.0.0.1 for 0.0.0.0).
      expect(records.map((r) => r.msg)).toContainEqual(
        expect.stringMatching(
          /^jobs-service listening on http:\/\/127\.0\.0\.1:\d+ \(bound to 127\.0\.0\.1; /,
        ),
      );
      const requestLines = records.filter((r) => r.reqId === 'log-check-7');
      expect(requestLines.length).toBeGreaterThan(0);
      const completed = requestLines.find(
        (r) => (r.res as { statusCode?: number } | undefined)?.statusCode === 404,
      );
      expect(completed).toBeDefined();
      expect(JSON.stringify(completed)).toContain('[REDACTED]');
      for (const secret of secrets) {
        expect(service.lines.join('\n')).not.toContain(secret.split(' ').pop());
      }
    } finally {
      await store.drop();
    }
  });
});
