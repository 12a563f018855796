import type { ModuleMetadata } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app.factory';
import { BASE_TEST_ENV } from './test-env';
import { createTestStore, type TestStore } from './test-store';

export interface TestApp {
  app: NestFastifyApplication;
  store: TestStore;
  /** Closes the app, then drops its store unless the store was passed in. */
  close(): Promise<void>;
}

/** Sets the environment, then builds and initialises the real app in-process (no listening). */
export function applyEnv(env: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

export async function startTestApp(
  options: {
    env?: Record<string, string | undefined>;
    imports?: ModuleMetadata['imports'];
    store?: TestStore;
    /** Runs after the app is built and before its routes are registered (e.g. an onRoute hook). */
    beforeInit?: (app: NestFastifyApplication) => void;
  } = {},
): Promise<TestApp> {
  const store = options.store ?? (await createTestStore());
  applyEnv({ ...BASE_TEST_ENV, ...store.env, ...options.env });
  const app = await createApp(options.imports);
  options.beforeInit?.(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    store,
    close: async () => {
      await app.close();
      if (!options.store) await store.drop();
    },
  };
}

/** Every route of the OpenAPI document at /docs-json, as [method in capitals, documented path]. */
export async function documentedRoutes(
  app: NestFastifyApplication,
): Promise<{ method: string; path: string }[]> {
  const doc = (await app.inject({ method: 'GET', url: '/docs-json' })).json<{
    paths: Record<string, Record<string, unknown>>;
  }>();
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })),
  );
}
