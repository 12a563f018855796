import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { EmbeddedPostgres } from './embedded-postgres';

/**
 * Owns the embedded store's lifetime inside the app. Nest shuts deeper modules down first, so
 * this hook would run before TypeORM's: it closes the data source itself, then the store, which
 * keeps the order right (TypeORM skips a data source that is already closed).
 */
@Injectable()
export class EmbeddedStore implements OnApplicationShutdown {
  private readonly logger = new Logger(EmbeddedStore.name);
  private embedded?: EmbeddedPostgres;

  constructor(private readonly moduleRef: ModuleRef) {}

  async start(dataDir: string): Promise<{ host: string; port: number }> {
    this.embedded = await EmbeddedPostgres.start(dataDir);
    this.logger.log(`Embedded PostgreSQL (PGlite) started, data under ${dataDir}`);
    return { host: this.embedded.host, port: this.embedded.port };
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.embedded) return;
    const dataSource = this.moduleRef.get(DataSource, { strict: false });
    if (dataSource.isInitialized) await dataSource.destroy();
    await this.embedded.stop();
    this.embedded = undefined;
  }
}
