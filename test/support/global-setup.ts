import { existsSync } from 'node:fs';
import { join } from 'node:path';
// globalSetup runs outside jest's module mapping: no @lib alias here.
import { buildPgliteTemplate, PGLITE_TEMPLATE_DIR } from '../../libs/database/src/pglite-template';

/**
 * Every embedded-store test starts from the build's PGlite template (pglite-template.ts), as a
 * first start of the service does; a run without `npm run build` makes it here once.
 */
export default async function globalSetup(): Promise<void> {
  if (existsSync(join(PGLITE_TEMPLATE_DIR, 'PG_VERSION'))) return;
  await buildPgliteTemplate();
}
