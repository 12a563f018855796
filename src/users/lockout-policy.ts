/** CONTRACT §4: 5 failed logins for one account within 15 minutes lock it until the window passes. */
export const MAX_FAILURES = 5;
export const WINDOW_MS = 15 * 60 * 1000;

export interface FailureWindow {
  failures: number;
  windowStartedAt: Date;
}

/** Seconds until the account may try again, or 0 when it is not locked. */
export function lockedForSeconds(window: FailureWindow | null, now: Date): number {
  if (!window || window.failures < MAX_FAILURES) return 0;
  const remainingMs = window.windowStartedAt.getTime() + WINDOW_MS - now.getTime();
  return remainingMs > 0 ? Math.ceil(remainingMs / 1000) : 0;
}

/** The window after one more failure: counted in the current window, or a new one if it passed. */
export function afterFailure(window: FailureWindow | null, now: Date): FailureWindow {
  if (!window || now.getTime() - window.windowStartedAt.getTime() >= WINDOW_MS) {
    return { failures: 1, windowStartedAt: now };
  }
  return { failures: window.failures + 1, windowStartedAt: window.windowStartedAt };
}
