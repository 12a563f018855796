import { AttemptWriter } from './attempt-writer';
import type { AttemptEnd, JobMove } from './job-store';

const end = (id: string, leaseToken = '1'): AttemptEnd => ({
  id,
  leaseToken,
  status: 'succeeded',
  outcome: 'succeeded',
  startedAt: new Date(),
  finishedAt: new Date(),
});

/** The writer's answer for one end, as a promise. */
const written = (writer: AttemptWriter, attemptEnd: AttemptEnd): Promise<JobMove | null> =>
  new Promise((done) => writer.add(attemptEnd, done));

const applied = (ends: AttemptEnd[]): JobMove[] =>
  ends.map((e) => ({ id: e.id, type: 't', status: e.status, leaseToken: e.leaseToken }));

describe('AttemptWriter (coalesced, fenced attempt writes)', () => {
  it('coalesces ends that arrive together into one write', async () => {
    const batches: number[] = [];
    const writer = new AttemptWriter((ends) => {
      batches.push(ends.length);
      return Promise.resolve(applied(ends));
    });
    const moves = await Promise.all(Array.from({ length: 50 }, (_, i) => written(writer, end(`j${i}`))));
    expect(batches).toEqual([50]);
    expect(moves.map((m) => m?.id)).toEqual(Array.from({ length: 50 }, (_, i) => `j${i}`));
  });

  it('caps a batch at 500 and writes the rest in the next one', async () => {
    const batches: number[] = [];
    const writer = new AttemptWriter((ends) => {
      batches.push(ends.length);
      return Promise.resolve(applied(ends));
    });
    await Promise.all(Array.from({ length: 1200 }, (_, i) => written(writer, end(`j${i}`))));
    expect(batches).toEqual([500, 500, 200]);
  });

  it('resolves null for an attempt the store refused (fenced), matching by lease token', async () => {
    // The store applies only the live attempt (token 2) of job a.
    const writer = new AttemptWriter((ends) =>
      Promise.resolve(applied(ends.filter((e) => !(e.id === 'a' && e.leaseToken === '1')))),
    );
    const [stale, live] = await Promise.all([written(writer, end('a', '1')), written(writer, end('a', '2'))]);
    expect(stale).toBeNull();
    expect(live).toMatchObject({ id: 'a', leaseToken: '2' });
  });

  it('retries a failed write until the store answers, losing nothing', async () => {
    let calls = 0;
    const writer = new AttemptWriter((ends) => {
      calls += 1;
      return calls < 3 ? Promise.reject(new Error('store down')) : Promise.resolve(applied(ends));
    });
    const move = await written(writer, end('x'));
    expect(move?.id).toBe('x');
    expect(calls).toBe(3);
  });

  it('flush() writes everything pending', async () => {
    const written: string[] = [];
    const writer = new AttemptWriter((ends) => {
      written.push(...ends.map((e) => e.id));
      return Promise.resolve(applied(ends));
    });
    writer.add(end('p'), () => undefined);
    writer.add(end('q'), () => undefined);
    await writer.flush();
    expect(written).toEqual(['p', 'q']);
    expect(writer.size).toBe(0);
  });
});

describe('AttemptWriter with an end the store refuses for its content', () => {
  it('splits the batch: the others are written, the refused one resolves null, no endless retry', async () => {
    const calls: number[] = [];
    const writer = new AttemptWriter((ends) => {
      calls.push(ends.length);
      if (ends.some((e) => e.id === 'bad')) {
        return Promise.reject(Object.assign(new Error('invalid byte sequence'), { code: '22021' }));
      }
      return Promise.resolve(applied(ends));
    });
    const moves = await Promise.all(['a', 'bad', 'c'].map((id) => written(writer, end(id))));
    expect(moves.map((m) => m?.id ?? null)).toEqual(['a', null, 'c']);
    expect(calls).toEqual([3, 1, 1, 1]);
  });
});
