import { timeOrderedUuid } from './time-ordered-uuid';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('timeOrderedUuid', () => {
  it('is a version 7, RFC 9562 variant UUID whose first 48 bits are the time in ms', () => {
    for (const now of [0, 1, 1_796_000_000_000, 2 ** 48 - 1]) {
      const id = timeOrderedUuid(now);
      expect(id).toMatch(V7);
      expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now);
    }
    expect(timeOrderedUuid()).toMatch(V7);
  });

  it('sorts by time across milliseconds, as text and as PostgreSQL compares uuids (bytewise)', () => {
    const ids = [1_000, 1_001, 65_536, 1_796_000_000_000, 1_796_000_000_001].map((ms) => timeOrderedUuid(ms));
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps 74 random bits: 100,000 ids of one millisecond are all distinct', () => {
    const ids = new Set(Array.from({ length: 100_000 }, () => timeOrderedUuid(1_796_000_000_000)));
    expect(ids.size).toBe(100_000);
  });
});
