import { claimCapacity, expectedRunMs, nextClaim } from './claim-capacity';

describe('claimCapacity (running plus buffered jobs a worker may hold)', () => {
  it('gives jobs of a second or more no buffer: only the free slots are claimed', () => {
    expect(claimCapacity(10, 1000)).toBe(10);
    expect(claimCapacity(10, 60_000)).toBe(10);
  });

  it('gives a type not seen yet no buffer', () => {
    expect(claimCapacity(10, undefined)).toBe(10);
  });

  it('buffers about 25 ms of work per slot for short jobs', () => {
    expect(claimCapacity(10, 25)).toBe(20);
    expect(claimCapacity(10, 5)).toBe(60);
    expect(claimCapacity(4, 1)).toBe(104);
  });

  it('never buffers more than 1,000, even for jobs of no measurable duration', () => {
    expect(claimCapacity(10, 0.001)).toBe(1010);
    expect(claimCapacity(10, 0)).toBe(1010);
  });
});

describe('expectedRunMs', () => {
  it('is the average while the running attempts are younger than it, or none runs', () => {
    expect(expectedRunMs(40, 3)).toBe(40);
    expect(expectedRunMs(40, undefined)).toBe(40);
  });

  it("is the youngest running attempt's age once every running one has outlived the average", () => {
    expect(expectedRunMs(0.05, 300)).toBe(300);
    // Quick jobs trained the average; slow ones now fill every slot: the buffer goes.
    expect(claimCapacity(10, expectedRunMs(0.05, 300))).toBe(10);
  });

  it('leaves a type not seen yet unknown (no buffer) whatever runs', () => {
    expect(expectedRunMs(undefined, 300)).toBeUndefined();
  });
});

describe('nextClaim', () => {
  const runTimes: Record<string, number> = { noop: 0.05, http: 5, sleep: 3000 };
  const avg = (type: string) => runTimes[type];

  it('fills free slots with any type, seen or not', () => {
    expect(nextClaim(10, 3, ['noop', 'sleep', 'fresh'], avg)).toEqual({
      types: ['noop', 'sleep', 'fresh'],
      limit: 7,
    });
  });

  it('buffers beyond the slots only the types quick enough, sized for the slowest of them', () => {
    expect(nextClaim(10, 10, ['noop', 'http', 'sleep', 'fresh'], avg)).toEqual({
      types: ['noop', 'http'],
      limit: claimCapacity(10, 5) - 10,
    });
    expect(nextClaim(10, 40, ['noop'], avg)).toEqual({ types: ['noop'], limit: 1010 - 40 });
  });

  it('claims nothing once the slots are full and no type earns a buffer, or the buffer is full', () => {
    expect(nextClaim(10, 10, ['sleep', 'fresh'], avg)).toBeNull();
    expect(nextClaim(10, 60, ['http'], avg)).toBeNull();
    expect(nextClaim(10, 0, [], avg)).toBeNull();
  });
});
