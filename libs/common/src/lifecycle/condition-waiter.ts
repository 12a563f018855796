/**
 * Promises that resolve once a condition over the owner's state holds. The owner calls changed()
 * whenever that state may have changed; there is no polling.
 */
export class ConditionWaiter {
  private readonly checks = new Set<() => void>();

  /** Resolves when `done()` holds (checked now and at every changed()), or after `timeoutMs`. */
  until(done: () => boolean, timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (done()) finish();
      };
      const finish = (): void => {
        this.checks.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = Number.isFinite(timeoutMs) ? setTimeout(finish, timeoutMs) : undefined;
      this.checks.add(check);
      check();
    });
  }

  changed(): void {
    for (const check of [...this.checks]) check();
  }
}
