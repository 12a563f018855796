import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';

export interface StoreEndpoint {
  url?: string;
  host?: string;
  port?: number;
}

export interface DataSourceSettings {
  poolSize: number;
  migrationsRun: boolean;
}

// Both paths resolve from this file in src (ts-jest, CLI) and in dist (compiled app).
const ROOT = join(__dirname, '..', '..', '..');
export const MIGRATIONS_GLOB = join(ROOT, 'migrations', '*.{js,ts}');
export const ENTITIES_GLOB = join(ROOT, 'src', '**', '*.entity.{js,ts}');

/**
 * The TypeORM options shared by the app and the migration CLI, for either store.
 * `migrationsRun` is carried through but applied by `openDataSource` under an advisory lock.
 */
export function dataSourceOptions(endpoint: StoreEndpoint, settings: DataSourceSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: endpoint.url,
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.url ? undefined : 'postgres',
    database: endpoint.url ? undefined : 'postgres',
    poolSize: settings.poolSize,
    // PGlite has neither uuid-ossp nor pgcrypto; gen_random_uuid() is built in since PG 13.
    installExtensions: false,
    uuidExtension: 'pgcrypto',
    migrations: [MIGRATIONS_GLOB],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    migrationsRun: settings.migrationsRun,
    synchronize: false,
    extra: {
      application_name: 'jobs-service',
      // Fail fast instead of hanging when the store is unreachable, so requests get a 503.
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
    },
  };
}
