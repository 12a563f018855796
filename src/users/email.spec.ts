import { canonicalEmail } from './email';

describe('canonicalEmail', () => {
  it('makes a precomposed and a decomposed accent one address', () => {
    expect(canonicalEmail('e\u0301mile@example.com')).toBe(canonicalEmail('\u00e9mile@example.com'));
  });

  it('folds case and trims', () => {
    expect(canonicalEmail('  ÉMILE@Example.COM ')).toBe('\u00e9mile@example.com');
  });
});
