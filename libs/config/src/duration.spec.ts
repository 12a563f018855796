import { durationSeconds } from './duration';

describe('durationSeconds', () => {
  it.each([
    ['900', 900],
    ['45s', 45],
    ['15m', 900],
    ['12h', 43_200],
    ['7d', 604_800],
  ])('%s → %d', (input, seconds) => expect(durationSeconds(input)).toBe(seconds));

  it.each(['', '1w', '-5m', '1.5h', 'm'])('rejects %j', (input) =>
    expect(() => durationSeconds(input)).toThrow(),
  );
});
