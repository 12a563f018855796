import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { EnvironmentVariables } from './env.schema';

// The schema is the source of truth; the two documents must list exactly its variables.
const ROOT = join(__dirname, '..', '..', '..');
const declared = [
  ...new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
      .map((m) => m.propertyName),
  ),
].sort();

describe('configuration documentation', () => {
  it('declares the variables of CONTRACT §8 (sanity check on the schema itself)', () => {
    expect(declared).toEqual(
      expect.arrayContaining(['DATABASE_URL', 'JWT_SECRET', 'REDIS_URL', 'METRICS_TOKEN']),
    );
  });

  it('.env.example lists every variable, and only those', () => {
    const text = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const listed = [...text.matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(declared);
  });

  it('README.md has a row for every variable', () => {
    const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const rows = [...text.matchAll(/^\| `([A-Z][A-Z0-9_]+)` +\|/gm)].map((m) => m[1]).sort();
    expect(rows).toEqual(declared);
  });
});
