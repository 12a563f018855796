import { ShutdownState } from '@lib/common';
import { ProbeModule } from './support/probe.module';
import { spawnService } from './support/spawn-service';
import { startTestApp, type TestApp } from './support/test-app';
import { createTestStore } from './support/test-store';

describe('health and graceful shutdown (CONTRACT §5, §7)', () => {
  describe('in-process', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ imports: [ProbeModule] });
    });
    afterAll(() => t.close());

    it('ready: 200 naming every check', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        status: 'ok',
        info: { shutdown: { status: 'up' }, store: { status: 'up' }, migrations: { status: 'up' } },
      });
    });

    it('live: 200', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/health/live' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'ok' });
    });

    it('once shutdown begins: ready 503 naming shutdown, live still 200, in-flight requests finish', async () => {
      await t.app.listen(0, '127.0.0.1');
      const base = await t.app.getUrl();
      const inFlight = fetch(`${base}/v1/probe/slow?ms=400`);
      await new Promise((resolve) => setTimeout(resolve, 50));

      t.app.get(ShutdownState).begin();
      const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'error', error: { shutdown: { status: 'down' } } });
      expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);

      const closing = t.app.close();
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ waited: 400 });
      await closing;
      t.close = () => t.store.drop();
    });
  });

  it('SIGTERM: the process finishes cleanly and exits 0', async () => {
    const store = await createTestStore();
    try {
      const service = await spawnService(store.env);
      const ready = await fetch(`${service.url}/health/ready`);
      expect(ready.status).toBe(200);
      const { code, signal } = await service.stop('SIGTERM');
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(service.lines.some((l) => l.includes('SIGTERM received'))).toBe(true);
      expect(service.lines.some((l) => l.includes('Shutdown complete'))).toBe(true);
      await expect(fetch(`${service.url}/health/live`)).rejects.toThrow();
    } finally {
      await store.drop();
    }
  });
});
