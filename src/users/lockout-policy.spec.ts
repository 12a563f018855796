import { afterFailure, lockedForSeconds, MAX_FAILURES, WINDOW_MS } from './lockout-policy';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

describe('lockout policy', () => {
  it('is not locked without failures or below the limit', () => {
    expect(lockedForSeconds(null, t0)).toBe(0);
    expect(lockedForSeconds({ failures: MAX_FAILURES - 1, windowStartedAt: t0 }, at(1000))).toBe(0);
  });

  it('locks at the fifth failure until the window that began with the first has passed', () => {
    let w = null;
    for (let i = 0; i < MAX_FAILURES; i++) w = afterFailure(w, at(i * 1000));
    expect(w).toEqual({ failures: 5, windowStartedAt: t0 });
    expect(lockedForSeconds(w, at(5000))).toBe((WINDOW_MS - 5000) / 1000);
    expect(lockedForSeconds(w, at(WINDOW_MS - 1))).toBe(1);
    expect(lockedForSeconds(w, at(WINDOW_MS))).toBe(0);
  });

  it('starts a new window once the old one has passed', () => {
    const old = { failures: 4, windowStartedAt: t0 };
    expect(afterFailure(old, at(WINDOW_MS))).toEqual({ failures: 1, windowStartedAt: at(WINDOW_MS) });
    expect(afterFailure(old, at(WINDOW_MS - 1))).toEqual({ failures: 5, windowStartedAt: t0 });
  });
});
