/**
 * Which ready job runs first (CONTRACT §5): higher priority, then earlier runAt, then earlier
 * createdAt. The claim SQL orders by the same keys (and IDX_job_queue_ready is built on them); this
 * comparator is the specification the tests hold that SQL to.
 */
export interface ClaimCandidate {
  status: string;
  type: string;
  priority: number;
  runAt: Date;
  createdAt: Date;
}

export function isReady(
  job: ClaimCandidate,
  now: Date,
  pausedTypes: ReadonlySet<string> = new Set(),
): boolean {
  return job.status === 'queued' && job.runAt.getTime() <= now.getTime() && !pausedTypes.has(job.type);
}

export type ClaimKeys = Pick<ClaimCandidate, 'priority' | 'runAt' | 'createdAt'>;

export function compareClaimOrder(a: ClaimKeys, b: ClaimKeys): number {
  return (
    b.priority - a.priority ||
    a.runAt.getTime() - b.runAt.getTime() ||
    a.createdAt.getTime() - b.createdAt.getTime()
  );
}

/** The jobs a claim of `limit` should take from `jobs`, in order. */
export function claimOrder<T extends ClaimCandidate>(
  jobs: readonly T[],
  now: Date,
  limit: number,
  pausedTypes?: ReadonlySet<string>,
): T[] {
  return jobs
    .filter((job) => isReady(job, now, pausedTypes))
    .sort(compareClaimOrder)
    .slice(0, limit);
}
