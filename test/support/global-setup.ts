import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_TEMPLATE_DIR, SERVER_URL } from './test-env';

/** Initialises one PGlite data dir that every embedded-store test copies. */
export default async function globalSetup(): Promise<void> {
  if (SERVER_URL) return;
  const marker = `${PGLITE_TEMPLATE_DIR}/pglite/PG_VERSION`;
  if (existsSync(marker)) return;
  rmSync(PGLITE_TEMPLATE_DIR, { recursive: true, force: true });
  mkdirSync(`${PGLITE_TEMPLATE_DIR}/pglite`, { recursive: true });
  const db = await PGlite.create(`${PGLITE_TEMPLATE_DIR}/pglite`);
  await db.close();
}
