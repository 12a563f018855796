import { claimCapacity } from './claim-capacity';

describe('claimCapacity (running plus buffered jobs a worker may hold)', () => {
  it('gives jobs of a second or more no buffer: only the free slots are claimed', () => {
    expect(claimCapacity(10, 1000)).toBe(10);
    expect(claimCapacity(10, 60_000)).toBe(10);
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
