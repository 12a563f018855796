/** The local buffer holds about this much work beyond the running jobs. */
const BUFFER_TARGET_MS = 25;
const MAX_BUFFER = 1000;

/**
 * How many jobs a worker may hold: running plus buffered. A buffered job is already claimed (it
 * shows as running), so the buffer is sized to about BUFFER_TARGET_MS of work at the observed
 * average run time: millisecond jobs are claimed hundreds at a time and a finished slot refills
 * without a round trip, while jobs that take a second or more are claimed only for free slots,
 * so none waits in one worker's buffer while another replica is idle.
 */
export function claimCapacity(concurrency: number, avgRunMs: number): number {
  const perSlot = BUFFER_TARGET_MS / Math.max(avgRunMs, 0.01);
  return concurrency + Math.min(MAX_BUFFER, Math.floor(concurrency * perSlot));
}
