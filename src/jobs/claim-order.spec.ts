import { claimOrder, compareClaimOrder, isReady, type ClaimCandidate } from './claim-order';

const now = new Date('2026-01-01T12:00:00.000Z');
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);

interface Job extends ClaimCandidate {
  id: string;
}

const job = (id: string, overrides: Partial<ClaimCandidate> = {}): Job => ({
  id,
  status: 'queued',
  type: 'email',
  priority: 0,
  runAt: at(-60_000),
  createdAt: at(-120_000),
  ...overrides,
});

describe('claim order (CONTRACT §5)', () => {
  describe('isReady (CONTRACT §5)', () => {
    it('accepts a queued job whose runAt has passed', () => {
      expect(isReady(job('a'), now)).toBe(true);
    });

    it('accepts a job whose runAt is exactly now (inclusive)', () => {
      expect(isReady(job('a', { runAt: now }), now)).toBe(true);
      expect(isReady(job('a', { runAt: new Date(now.getTime()) }), now)).toBe(true);
    });

    it('refuses a job scheduled even 1 ms in the future', () => {
      expect(isReady(job('a', { runAt: at(1) }), now)).toBe(false);
    });

    it.each(['running', 'succeeded', 'failed', 'cancelled'])('refuses a %s job', (status) => {
      expect(isReady(job('a', { status }), now)).toBe(false);
    });

    it('refuses a job whose type is paused', () => {
      expect(isReady(job('a', { type: 'email' }), now, new Set(['email']))).toBe(false);
      expect(isReady(job('a', { type: 'email' }), now, new Set(['sms', 'email']))).toBe(false);
    });

    it('is unaffected by other paused types, and pauses nothing by default', () => {
      expect(isReady(job('a', { type: 'email' }), now, new Set(['sms']))).toBe(true);
      expect(isReady(job('a', { type: 'email' }), now, new Set())).toBe(true);
      expect(isReady(job('a', { type: 'email' }), now)).toBe(true);
    });
  });

  describe('compareClaimOrder (CONTRACT §5)', () => {
    it('puts higher priority first, whatever runAt and createdAt say', () => {
      const high = job('high', { priority: 5, runAt: at(-1), createdAt: at(-1) });
      const low = job('low', { priority: 1, runAt: at(-9_000), createdAt: at(-9_000) });
      expect(compareClaimOrder(high, low)).toBeLessThan(0);
      expect(compareClaimOrder(low, high)).toBeGreaterThan(0);
    });

    it('orders negative priorities below zero', () => {
      expect(compareClaimOrder(job('zero', { priority: 0 }), job('neg', { priority: -3 }))).toBeLessThan(0);
    });

    it('breaks a priority tie by earlier runAt, whatever createdAt says', () => {
      const early = job('early', { runAt: at(-5_000), createdAt: at(-1_000) });
      const late = job('late', { runAt: at(-1_000), createdAt: at(-9_000) });
      expect(compareClaimOrder(early, late)).toBeLessThan(0);
      expect(compareClaimOrder(late, early)).toBeGreaterThan(0);
    });

    it('breaks a priority and runAt tie by earlier createdAt', () => {
      const older = job('older', { createdAt: at(-5_000) });
      const newer = job('newer', { createdAt: at(-4_999) });
      expect(compareClaimOrder(older, newer)).toBeLessThan(0);
      expect(compareClaimOrder(newer, older)).toBeGreaterThan(0);
    });

    it('returns 0 when all three keys tie, ignoring status and type', () => {
      const a = job('a', { type: 'email' });
      const b = job('b', { type: 'sms', status: 'running' });
      expect(compareClaimOrder(a, b)).toBe(0);
      expect(compareClaimOrder(b, a)).toBe(0);
      expect(compareClaimOrder(a, a)).toBe(0);
    });
  });

  describe('claimOrder (CONTRACT §5)', () => {
    const jobs: readonly Job[] = [
      job('low-old', { priority: 1, runAt: at(-9_000) }),
      job('high-late', { priority: 5, runAt: at(-1_000) }),
      job('future', { priority: 9, runAt: at(1) }),
      job('running', { priority: 9, status: 'running' }),
      job('high-early-new', { priority: 5, runAt: at(-3_000), createdAt: at(-3_000) }),
      job('paused', { priority: 9, type: 'report' }),
      job('high-early-old', { priority: 5, runAt: at(-3_000), createdAt: at(-4_000) }),
      job('due-now', { priority: 1, runAt: now }),
    ];
    const ids = (list: readonly Job[]) => list.map((j) => j.id);
    const ALL_READY = ['paused', 'high-early-old', 'high-early-new', 'high-late', 'low-old', 'due-now'];

    it('keeps only ready jobs and sorts them by priority, runAt, createdAt', () => {
      expect(ids(claimOrder(jobs, now, 100))).toEqual(ALL_READY);
    });

    it('leaves out paused types', () => {
      expect(ids(claimOrder(jobs, now, 100, new Set(['report'])))).toEqual(ALL_READY.slice(1));
    });

    it('takes at most `limit` jobs, from the front of the order', () => {
      expect(ids(claimOrder(jobs, now, 2))).toEqual(['paused', 'high-early-old']);
      expect(ids(claimOrder(jobs, now, 1, new Set(['report'])))).toEqual(['high-early-old']);
      expect(claimOrder(jobs, now, 0)).toEqual([]);
    });

    it('returns fewer than `limit` when fewer are ready, and none from an empty list', () => {
      expect(claimOrder(jobs, now, 50)).toHaveLength(ALL_READY.length);
      expect(claimOrder([], now, 10)).toEqual([]);
      expect(claimOrder(jobs, at(-60 * 60_000), 10)).toEqual([]);
    });

    it('returns the same job objects, not copies', () => {
      expect(claimOrder(jobs, now, 1)[0]).toBe(jobs[5]);
      expect(claimOrder(jobs, now, 1, new Set(['report']))[0]).toBe(jobs[6]);
    });

    it('does not mutate the input array', () => {
      const input = [...jobs];
      const before = ids(input);
      claimOrder(input, now, 3);
      expect(ids(input)).toEqual(before);
      // A frozen input would make an in-place sort throw.
      expect(() => claimOrder(Object.freeze([...jobs]), now, 3)).not.toThrow();
    });
  });
});
