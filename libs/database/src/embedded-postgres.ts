import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
// The ESM typings, the ones that the import() below resolves to.
import type { PGlite } from '@electric-sql/pglite' with { 'resolution-mode': 'import' };
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket' with { 'resolution-mode': 'import' };
import { lock } from 'proper-lockfile';
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
    private readonly unlock: () => Promise<void>,
    readonly host: string,
    readonly port: number,
  ) {}

  /** `dataDir` is a folder (created if missing) or `memory://` for a throwaway store. */
  static async start(dataDir: string): Promise<EmbeddedPostgres> {
    const location = dataDir === 'memory://' ? dataDir : resolve(dataDir, 'pglite');
    let unlock = () => Promise.resolve();
    if (location !== 'memory://') {
      mkdirSync(dirname(location), { recursive: true });
      unlock = await lockDataDir(location, dataDir);
      await seedFromTemplate(location);
      mkdirSync(location, { recursive: true });
    }
    // Loaded here, not at the top: a replica on PostgreSQL never needs PGlite (~1.3 MB of heap).
    const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite-socket'),
    ]);
    const db = await PGlite.create(location, {
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${SHARED_BUFFERS}`],
    });
    const host = '127.0.0.1';
    const server = new PGLiteSocketServer({ db, host, port: 0, maxConnections: 1 });
    await server.start();
    const port = Number(server.getServerConn().split(':').pop());
    return new EmbeddedPostgres(db, server, unlock, host, port);
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.db.close();
    await this.unlock();
  }
}

/**
 * The buffer pool. PGlite zeroes it at every start: PostgreSQL's default of 128 MB cost ~0.8 s of
 * CPU and ~120 MB more RSS per start than 16 MB (README, "The embedded store"), and the data
 * files sit in the OS page cache either way.
 */
const SHARED_BUFFERS = '16MB';

/** How long a lock nobody refreshes stays taken: a process killed with SIGKILL leaves one. */
const LOCK_STALE_MS = 5000;

/**
 * One process per data directory: a second PGlite on the same files keeps its own copy in memory
 * and the last to write wins, so jobs accepted by either could vanish. The lock (a directory
 * beside the data, its mtime refreshed every second) holds across containers sharing a volume;
 * one left by a killed process goes stale after 5 s, which a restart waits out.
 */
async function lockDataDir(location: string, dataDir: string): Promise<() => Promise<void>> {
  try {
    return await lock(location, {
      realpath: false,
      stale: LOCK_STALE_MS,
      update: 1000,
      retries: { retries: LOCK_STALE_MS / 1000 + 1, factor: 1, minTimeout: 1000, maxTimeout: 1000 },
    });
  } catch (error) {
    if ((error as { code?: string }).code !== 'ELOCKED') throw error;
    throw new Error(
      `DATA_DIR ${dataDir} is in use by another process (the embedded store admits one): stop it, or give this one another DATA_DIR`,
      { cause: error },
    );
  }
}
