import { ConditionWaiter } from './condition-waiter';

describe('ConditionWaiter', () => {
  it('resolves at once when the condition already holds', async () => {
    await expect(new ConditionWaiter().until(() => true)).resolves.toBeUndefined();
  });

  it('resolves at the first changed() after which the condition holds', async () => {
    const waiter = new ConditionWaiter();
    let count = 2;
    let resolved = false;
    const done = waiter.until(() => count === 0).then(() => (resolved = true));
    count -= 1;
    waiter.changed();
    await Promise.resolve();
    expect(resolved).toBe(false);
    count -= 1;
    waiter.changed();
    await done;
    expect(resolved).toBe(true);
  });

  it('gives up after the timeout', async () => {
    jest.useFakeTimers();
    try {
      const done = new ConditionWaiter().until(() => false, 500);
      jest.advanceTimersByTime(500);
      await expect(done).resolves.toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });
});
