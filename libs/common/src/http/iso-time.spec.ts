import { isoTime } from './iso-time';

describe('isoTime', () => {
  it('writes what toISOString writes, for a repeated time and for the next one', () => {
    const times = [0, 1_764_892_800_123, 1_764_892_800_123, -62_135_596_800_000, 253_402_300_799_999, 5];
    for (const time of times) expect(isoTime(new Date(time))).toBe(new Date(time).toISOString());
  });

  it('formats a Date again once it was changed', () => {
    const date = new Date(1_000);
    expect(isoTime(date)).toBe('1970-01-01T00:00:01.000Z');
    date.setTime(2_000);
    expect(isoTime(date)).toBe('1970-01-01T00:00:02.000Z');
  });

  it('refuses an invalid date, as toISOString does', () => {
    expect(() => isoTime(new Date(Number.NaN))).toThrow(RangeError);
  });
});
