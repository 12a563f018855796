import { Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { databaseConfig } from '@lib/config';
import { dataSourceOptions } from './data-source.options';
import { EmbeddedStore } from './embedded-store.service';
import { MigrationStatus } from './migration-status.service';
import { runMigrationsLocked } from './migrate';
import { StoreNotifications } from './store-notifications';

@Module({ providers: [EmbeddedStore], exports: [EmbeddedStore] })
class EmbeddedStoreModule {}

/**
 * The store: PostgreSQL when DATABASE_URL is set, else the embedded PGlite under DATA_DIR
 * (CONTRACT §2). Migrations are applied before the data source is handed to anyone.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      imports: [EmbeddedStoreModule],
      inject: [databaseConfig.KEY, EmbeddedStore],
      useFactory: async (cfg: ConfigType<typeof databaseConfig>, embedded: EmbeddedStore) => {
        const settings = { poolSize: cfg.poolSize, migrationsRun: cfg.migrationsRun };
        if (cfg.url) return { ...dataSourceOptions({ url: cfg.url }, settings), autoLoadEntities: true };
        const endpoint = await embedded.start(cfg.dataDir);
        const options = dataSourceOptions(endpoint, { ...settings, poolSize: 1 });
        // The embedded server refuses a new connection until it has seen the old one close, so
        // the single connection is never recycled for idleness.
        return { ...options, extra: { ...options.extra, idleTimeoutMillis: 0 }, autoLoadEntities: true };
      },
      dataSourceFactory: async (options?: DataSourceOptions) => {
        if (!options) throw new Error('TypeORM options are missing');
        const dataSource = await new DataSource({ ...options, migrationsRun: false }).initialize();
        if (options.migrationsRun) await runMigrationsLocked(dataSource);
        return dataSource;
      },
    }),
  ],
  providers: [MigrationStatus, StoreNotifications],
  exports: [MigrationStatus, StoreNotifications],
})
export class DatabaseModule {}
