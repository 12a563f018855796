import { coalesced } from './coalesced';

/** A task whose runs are counted and finished by hand. */
function manualTask() {
  const runs: { resolve: (value: number) => void; reject: (error: Error) => void }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const task = () =>
    new Promise<number>((resolve, reject) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const done = () => (inFlight -= 1);
      runs.push({
        resolve: (value) => (done(), resolve(value)),
        reject: (error) => (done(), reject(error)),
      });
    });
  return { task, runs, maxInFlight: () => maxInFlight };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('coalesced', () => {
  it('gives callers arriving during a run the next run, shared, and never runs two at once', async () => {
    const { task, runs, maxInFlight } = manualTask();
    const call = coalesced(task);

    const first = call();
    const during = [call(), call(), call()];
    await tick();
    expect(runs).toHaveLength(1);

    runs[0].resolve(1);
    await expect(first).resolves.toBe(1);
    await tick();
    // The callers who came during run 1 are not answered with its result: they get run 2.
    expect(runs).toHaveLength(2);
    runs[1].resolve(2);
    await expect(Promise.all(during)).resolves.toEqual([2, 2, 2]);
    expect(maxInFlight()).toBe(1);
  });

  it('starts a new run for a caller who arrives after the last run ended', async () => {
    const { task, runs } = manualTask();
    const call = coalesced(task);
    const first = call();
    runs[0].resolve(1);
    await first;
    const later = call();
    expect(runs).toHaveLength(2);
    runs[1].resolve(7);
    await expect(later).resolves.toBe(7);
  });

  it('a failed run fails only its own callers, and the next run still happens', async () => {
    const { task, runs } = manualTask();
    const call = coalesced(task);
    const first = call();
    const waiting = call();
    runs[0].reject(new Error('store down'));
    await expect(first).rejects.toThrow('store down');
    await tick();
    runs[1].resolve(3);
    await expect(waiting).resolves.toBe(3);

    const again = call();
    runs[2].reject(new Error('again'));
    await expect(again).rejects.toThrow('again');
    const after = call();
    runs[3].resolve(4);
    await expect(after).resolves.toBe(4);
  });
});
