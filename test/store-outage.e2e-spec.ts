import { ProbeModule } from './support/probe.module';
import { TcpProxy } from './support/tcp-proxy';
import { startTestApp, type TestApp } from './support/test-app';
import { startRawStore } from './support/test-store';

describe('store outage (CONTRACT §3, §7)', () => {
  let store: { url: string; stop(): Promise<void> };
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    store = await startRawStore();
    const target = new URL(store.url);
    proxy = await new TcpProxy(target.hostname, Number(target.port || 5432)).start();
    t = await startTestApp({
      imports: [ProbeModule],
      env: { DATABASE_URL: proxy.urlFor(store.url), DATABASE_POOL_SIZE: '1' },
    });
  });
  afterAll(async () => {
    await t.close();
    await proxy.stop();
    await store.stop();
  });

  it('serves normally while the store answers', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/v1/probe/store' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });

  it('while the store is cut: API 503 problem with Retry-After, ready 503 naming the store, live 200', async () => {
    proxy.cut();
    try {
      const api = await t.app.inject({ method: 'GET', url: '/v1/probe/store' });
      expect(api.statusCode).toBe(503);
      expect(api.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(api.headers['retry-after']).toBe('5');
      expect(api.json()).toMatchObject({ status: 503, code: 'STORE.UNAVAILABLE' });
      expect(api.body).not.toMatch(/ECONN|Connection terminated|127\.0\.0\.1/);

      const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'error', error: { store: { status: 'down' } } });

      const live = await t.app.inject({ method: 'GET', url: '/health/live' });
      expect(live.statusCode).toBe(200);
    } finally {
      proxy.restore();
    }
  });

  it('recovers by itself once the store is back', async () => {
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await t.app.inject({ method: 'GET', url: '/v1/probe/store' })).statusCode;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });
});
