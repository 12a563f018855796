import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
// The ESM typings, the ones that the import() below resolves to.
import type { PGlite } from '@electric-sql/pglite' with { 'resolution-mode': 'import' };
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket' with { 'resolution-mode': 'import' };
import { seedFromTemplate } from './pglite-template';

/**
 * PGlite, the embedded PostgreSQL, served in-process on a loopback socket so that the ordinary
 * `pg` driver (and so the same TypeORM code) talks to it.
 *
 * PGlite is a single backend: `maxConnections: 1` plus a client pool of one make every
 * transaction own the backend exclusively. A shared-connection adapter (typeorm-pglite) was
 * measured to interleave concurrent transactions and lose rollbacks (DEVELOPERS.md).
 */
export class EmbeddedPostgres {
  private constructor(
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
    readonly host: string,
    readonly port: number,
  ) {}

  /** `dataDir` is a folder (created if missing) or `memory://` for a throwaway store. */
  static async start(dataDir: string): Promise<EmbeddedPostgres> {
    const location = dataDir === 'memory://' ? dataDir : resolve(dataDir, 'pglite');
    if (location !== 'memory://') {
      mkdirSync(dirname(location), { recursive: true });
      await seedFromTemplate(location);
      mkdirSync(location, { recursive: true });
    }
    // Loaded here, not at the top: a replica on PostgreSQL never needs PGlite (~1.3 MB of heap).
    const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite-socket'),
    ]);
    const db = await PGlite.create(location);
    const host = '127.0.0.1';
    const server = new PGLiteSocketServer({ db, host, port: 0, maxConnections: 1 });
    await server.start();
    const port = Number(server.getServerConn().split(':').pop());
    return new EmbeddedPostgres(db, server, host, port);
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.db.close();
  }
}
