/** The local buffer holds about this much work beyond the running jobs. */
const BUFFER_TARGET_MS = 25;
const MAX_BUFFER = 1000;
/**
 * How long a job may wait in the buffer before it goes back to the queue (JobEngine). A buffered
 * job shows `running` and holds its place against other replicas and later jobs of higher
 * priority; at the expected run times it starts within milliseconds, and this bounds the case
 * where a type's jobs turn slow after quick ones sized the buffer.
 */
export const MAX_BUFFERED_MS = 250;

/**
 * How many jobs a worker may hold: running plus buffered. A buffered job is already claimed (it
 * shows as running), so the buffer is sized to about BUFFER_TARGET_MS of work at the observed
 * average run time: millisecond jobs are claimed hundreds at a time and a finished slot refills
 * without a round trip, while jobs that take a second or more are claimed only for free slots,
 * so none waits in one worker's buffer while another replica is idle. No run time observed yet
 * (undefined) counts as slow.
 */
export function claimCapacity(concurrency: number, avgRunMs: number | undefined): number {
  if (avgRunMs === undefined) return concurrency;
  const perSlot = BUFFER_TARGET_MS / Math.max(avgRunMs, 0.01);
  return concurrency + Math.min(MAX_BUFFER, Math.floor(concurrency * perSlot));
}

/**
 * The run time to size a type's buffer by: its average, or how long the youngest running attempt
 * (of any type) has been running if that is longer. A buffered job waits for a slot, and slots
 * whose attempts all run long free slowly whatever type waits for them: an average taken over
 * quick jobs says nothing about the slow ones filling every slot now.
 */
export function expectedRunMs(
  avgRunMs: number | undefined,
  youngestRunningMs: number | undefined,
): number | undefined {
  if (avgRunMs === undefined || youngestRunningMs === undefined) return avgRunMs;
  return Math.max(avgRunMs, youngestRunningMs);
}

/** A claim to make: up to `limit` ready jobs of `types`. */
export interface ClaimPlan {
  types: string[];
  limit: number;
}

/**
 * The next claim of a worker that holds `held` jobs (running, buffered or ended but not yet
 * written). Free slots take a job of any type; beyond them, the buffer takes only the types
 * whose own run time earns them one, sized for the slowest of those. One average for all types
 * had let 900 quick jobs size the buffer for 30 three-second ones that came next: one replica
 * claimed all 30 and ran them 10 at a time while two others stood idle.
 */
export function nextClaim(
  concurrency: number,
  held: number,
  types: string[],
  avgRunMs: (type: string) => number | undefined,
): ClaimPlan | null {
  if (types.length === 0) return null;
  if (held < concurrency) return { types, limit: concurrency - held };
  const buffered = types.filter((type) => claimCapacity(concurrency, avgRunMs(type)) > concurrency);
  if (buffered.length === 0) return null;
  const slowest = Math.max(...buffered.map((type) => avgRunMs(type) as number));
  const limit = claimCapacity(concurrency, slowest) - held;
  return limit > 0 ? { types: buffered, limit } : null;
}
