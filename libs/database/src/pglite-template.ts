import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A first start on an empty DATA_DIR copies an initialised, empty PGlite data dir made once by
 * `npm run build` (postbuild) instead of running PGlite's initdb, which is most of a first start
 * (measured: 3.6 s to ready with initdb). Run from sources, without a build, there is no template
 * and PGlite initialises the directory itself, as it always can.
 */
export const PGLITE_TEMPLATE_DIR = join(packageRoot(__dirname), 'dist', 'pglite-template');

/**
 * Makes `location` a copy of the template when it is missing or empty; false when it was not
 * (a data dir already, or anything else, which is left alone) or there is no template. The copy
 * is made beside it and renamed into place, so a start killed while copying leaves no half-made
 * data dir that a restart would take for a whole one.
 */
export async function seedFromTemplate(location: string): Promise<boolean> {
  if (!existsSync(join(PGLITE_TEMPLATE_DIR, 'PG_VERSION'))) return false;
  if (existsSync(location) && readdirSync(location).length > 0) return false;
  await replaceWhole(location, (staging) => cpSync(PGLITE_TEMPLATE_DIR, staging, { recursive: true }));
  return true;
}

/** Builds the template; an interrupted build leaves no half-made one behind. */
export async function buildPgliteTemplate(): Promise<void> {
  // Not a top-level import: this module is loaded by every replica, PGlite only by embedded ones.
  const { PGlite } = await import('@electric-sql/pglite');
  await replaceWhole(PGLITE_TEMPLATE_DIR, async (staging) => {
    mkdirSync(staging, { recursive: true });
    const db = await PGlite.create(staging);
    await db.close();
  });
}

/**
 * Fills a staging dir beside `dir` (whatever an interrupted earlier attempt left there is
 * removed first), then swaps it in for `dir`: an interruption leaves the old dir, no dir, or the
 * whole new one, never a half-made one.
 */
async function replaceWhole(dir: string, fill: (staging: string) => void | Promise<void>): Promise<void> {
  const staging = `${dir}.staging`;
  rmSync(staging, { recursive: true, force: true });
  await fill(staging);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
}

function packageRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}
