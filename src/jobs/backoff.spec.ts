import { backoffCeilingSeconds, DEFAULT_BACKOFF, retryDelayMs, type BackoffPolicy } from './backoff';

const policy = (baseSeconds: number, maxSeconds: number): BackoffPolicy => ({ baseSeconds, maxSeconds });
const always = (value: number) => (): number => value;
// The largest double below 1: the top of Math.random's range.
const JUST_BELOW_ONE = 1 - 2 ** -53;

describe('backoff (CONTRACT §5)', () => {
  it('defaults to base 1 s and max 3600 s', () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseSeconds: 1, maxSeconds: 3600 });
  });

  describe('backoffCeilingSeconds (CONTRACT §5)', () => {
    it.each<[number, number]>([
      [1, 1],
      [2, 2],
      [3, 4],
      [4, 8],
      [5, 16],
      [10, 512],
      [12, 2048],
    ])('doubles from the base: attempt %i → %i s', (attempt, seconds) => {
      expect(backoffCeilingSeconds(attempt, DEFAULT_BACKOFF)).toBe(seconds);
    });

    it.each<[number, number]>([
      [1, 5],
      [2, 10],
      [3, 20],
      [4, 40],
    ])('scales with another base: attempt %i with base 5 → %i s', (attempt, seconds) => {
      expect(backoffCeilingSeconds(attempt, policy(5, 1000))).toBe(seconds);
    });

    it('supports fractional bases', () => {
      expect(backoffCeilingSeconds(1, policy(0.5, 60))).toBe(0.5);
      expect(backoffCeilingSeconds(3, policy(0.5, 60))).toBe(2);
    });

    it('is capped at maxSeconds once the doubling passes it', () => {
      expect(backoffCeilingSeconds(12, DEFAULT_BACKOFF)).toBe(2048);
      expect(backoffCeilingSeconds(13, DEFAULT_BACKOFF)).toBe(3600);
      expect(backoffCeilingSeconds(20, DEFAULT_BACKOFF)).toBe(3600);
      expect(backoffCeilingSeconds(3, policy(5, 15))).toBe(15);
    });

    it('reaches the cap exactly when base·2^(n-1) equals it', () => {
      expect(backoffCeilingSeconds(4, policy(1, 8))).toBe(8);
      expect(backoffCeilingSeconds(5, policy(1, 8))).toBe(8);
    });

    it.each([64, 1024, 1025, 5000, Number.MAX_SAFE_INTEGER])(
      'gives maxSeconds, not NaN or Infinity, for attempt %i',
      (attempt) => {
        const ceiling = backoffCeilingSeconds(attempt, DEFAULT_BACKOFF);
        expect(Number.isFinite(ceiling)).toBe(true);
        expect(ceiling).toBe(3600);
      },
    );

    it.each([0, -1, -100, 1.5, 0.5, NaN, Infinity, -Infinity])(
      'throws RangeError for attempt %p',
      (attempt) => {
        expect(() => backoffCeilingSeconds(attempt, DEFAULT_BACKOFF)).toThrow(RangeError);
      },
    );
  });

  describe('retryDelayMs (CONTRACT §5)', () => {
    it('is 0 when random() is 0', () => {
      expect(retryDelayMs(1, DEFAULT_BACKOFF, always(0))).toBe(0);
      expect(retryDelayMs(20, DEFAULT_BACKOFF, always(0))).toBe(0);
    });

    it('is half the ceiling in ms when random() is 0.5', () => {
      expect(retryDelayMs(1, DEFAULT_BACKOFF, always(0.5))).toBe(500);
      expect(retryDelayMs(3, DEFAULT_BACKOFF, always(0.5))).toBe(2000);
      expect(retryDelayMs(20, DEFAULT_BACKOFF, always(0.5))).toBe(1_800_000);
    });

    it('floors to whole milliseconds', () => {
      expect(retryDelayMs(1, policy(0.003, 60), always(0.5))).toBe(1);
      expect(retryDelayMs(1, DEFAULT_BACKOFF, always(0.3339))).toBe(333);
      expect(Number.isInteger(retryDelayMs(2, policy(0.7, 60), always(0.123)))).toBe(true);
    });

    it.each([1, 2, 5, 12, 13, 5000])(
      'stays below the ceiling when random() is just below 1 (attempt %i)',
      (attempt) => {
        const ceilingMs = backoffCeilingSeconds(attempt, DEFAULT_BACKOFF) * 1000;
        const delay = retryDelayMs(attempt, DEFAULT_BACKOFF, always(JUST_BELOW_ONE));
        expect(delay).toBeLessThan(ceilingMs);
        expect(delay).toBe(ceilingMs - 1);
      },
    );

    it.each([0, -1, 1.5])('throws RangeError for attempt %p', (attempt) => {
      expect(() => retryDelayMs(attempt, DEFAULT_BACKOFF, always(0.5))).toThrow(RangeError);
      expect(() => retryDelayMs(attempt, DEFAULT_BACKOFF)).toThrow(RangeError);
    });

    it('draws exactly one random number per delay', () => {
      const random = jest.fn(() => 0.25);
      expect(retryDelayMs(4, DEFAULT_BACKOFF, random)).toBe(2000);
      expect(random).toHaveBeenCalledTimes(1);
    });

    it('uses full jitter with Math.random: uniform over [0, ceiling], widely spread', () => {
      const attempt = 10;
      const ceilingMs = backoffCeilingSeconds(attempt, DEFAULT_BACKOFF) * 1000;
      const samples = Array.from({ length: 1000 }, () => retryDelayMs(attempt, DEFAULT_BACKOFF));

      for (const delay of samples) {
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceilingMs);
      }
      // With 1000 uniform draws, missing either tail is a (0.8)^1000 event: a failure means the
      // jitter is not full (e.g. "equal jitter" would keep every delay above half the ceiling).
      expect(Math.min(...samples)).toBeLessThan(0.2 * ceilingMs);
      expect(Math.max(...samples)).toBeGreaterThan(0.8 * ceilingMs);
      const mean = samples.reduce((sum, delay) => sum + delay, 0) / samples.length;
      expect(mean).toBeGreaterThan(0.4 * ceilingMs);
      expect(mean).toBeLessThan(0.6 * ceilingMs);
    });
  });
});
