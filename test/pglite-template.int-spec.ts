import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PGLITE_TEMPLATE_DIR, seedFromTemplate } from '@lib/database';

/** Every file under `dir` with its size, by path relative to `dir`. */
function tree(dir: string): Record<string, number> {
  const files: Record<string, number> = {};
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[relative(dir, path)] = statSync(path).size;
    }
  };
  walk(dir);
  return files;
}

describe('seeding an embedded data dir from the build template', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'jobs-seed-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('copies every file of the template into a missing dir and leaves no staging dir', async () => {
    const location = join(root, 'pglite');
    expect(await seedFromTemplate(location)).toBe(true);
    expect(tree(location)).toEqual(tree(PGLITE_TEMPLATE_DIR));
    expect(readdirSync(root)).toEqual(['pglite']);
  });

  it('fills an empty dir', async () => {
    const location = join(root, 'pglite');
    mkdirSync(location);
    expect(await seedFromTemplate(location)).toBe(true);
    expect(existsSync(join(location, 'PG_VERSION'))).toBe(true);
  });

  it('leaves a dir that holds anything alone', async () => {
    const location = join(root, 'pglite');
    mkdirSync(location);
    writeFileSync(join(location, 'mine'), 'keep');
    expect(await seedFromTemplate(location)).toBe(false);
    expect(readdirSync(location)).toEqual(['mine']);
  });

  it('starts over from a copy that an earlier start left half made', async () => {
    const location = join(root, 'pglite');
    mkdirSync(`${location}.staging`);
    writeFileSync(join(`${location}.staging`, 'PG_VERSION'), 'half');
    writeFileSync(join(`${location}.staging`, 'stray'), '');
    expect(await seedFromTemplate(location)).toBe(true);
    expect(tree(location)).toEqual(tree(PGLITE_TEMPLATE_DIR));
    expect(readdirSync(root)).toEqual(['pglite']);
  });
});
