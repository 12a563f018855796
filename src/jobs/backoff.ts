/** Retry spacing (CONTRACT §5): `min(maxSeconds, baseSeconds·2^(attempt-1))`, full jitter. */
export interface BackoffPolicy {
  baseSeconds: number;
  maxSeconds: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = { baseSeconds: 1, maxSeconds: 3600 };

/** The upper bound of the wait after failed attempt number `attempt` (1-based), in seconds. */
export function backoffCeilingSeconds(attempt: number, policy: BackoffPolicy): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be ≥ 1, got ${attempt}`);
  // The exponent is capped so 2^n stays finite (0 · Infinity would be NaN); 2^1000 s is past any cap.
  return Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** Math.min(attempt - 1, 1000));
}

/**
 * The wait before the next attempt, in ms: uniform in [0, ceiling] ("full jitter"), which spreads
 * a burst of failures out instead of retrying them in lockstep. `random` is injectable for tests.
 */
export function retryDelayMs(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * backoffCeilingSeconds(attempt, policy) * 1000);
}
