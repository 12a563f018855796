import {
  afterFailure,
  allowedFrom,
  ATTEMPT_OUTCOMES,
  cancelAction,
  canTransition,
  FINAL_STATUSES,
  isFinal,
  JOB_STATUSES,
  nextStatus,
  type FailedAttempt,
  type JobAction,
  type JobStatus,
} from './job-lifecycle';

/** undefined: the action is refused from that status; null: the job is deleted. */
type Outcome = JobStatus | null | undefined;
type Row = readonly [
  queued: Outcome,
  running: Outcome,
  succeeded: Outcome,
  failed: Outcome,
  cancelled: Outcome,
];

const NO = undefined;
const GONE = null;

// Written out by hand from CONTRACT §5, not read from the module. The Record type makes tsc reject
// the table if an action is added to JobAction without a row here.
const EXPECTED: Readonly<Record<JobAction, Row>> = {
  // Columns: queued, running, succeeded, failed, cancelled.
  claim: ['running', NO, NO, NO, NO],
  succeed: [NO, 'succeeded', NO, NO, NO],
  scheduleRetry: [NO, 'queued', NO, NO, NO],
  fail: [NO, 'failed', NO, NO, NO],
  finishCancelled: [NO, 'cancelled', NO, NO, NO],
  release: [NO, 'queued', NO, NO, NO],
  cancel: ['cancelled', NO, NO, NO, NO],
  requestCancel: [NO, 'running', NO, NO, NO],
  retry: [NO, NO, NO, 'queued', 'queued'],
  delete: [GONE, NO, GONE, GONE, GONE],
};

// The table's columns are positional, so pin the status order they assume.
const COLUMNS = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
const ACTIONS = Object.keys(EXPECTED) as JobAction[];

const expected = (status: JobStatus, action: JobAction): Outcome => EXPECTED[action][COLUMNS.indexOf(status)];

const CROSS_PRODUCT: [JobStatus, JobAction, Outcome][] = JOB_STATUSES.flatMap((status) =>
  ACTIONS.map((action): [JobStatus, JobAction, Outcome] => [status, action, expected(status, action)]),
);

describe('job lifecycle (CONTRACT §5)', () => {
  it('has exactly the five statuses, in the order the table assumes', () => {
    expect(JOB_STATUSES).toEqual(COLUMNS);
  });

  it('covers every status × action pair (5 × 10)', () => {
    expect(ACTIONS).toHaveLength(10);
    expect(CROSS_PRODUCT).toHaveLength(50);
  });

  describe('state machine table (CONTRACT §5)', () => {
    it.each(CROSS_PRODUCT)('%s + %s → %p', (status, action, outcome) => {
      expect(canTransition(status, action)).toBe(outcome !== undefined);
      expect(nextStatus(status, action)).toBe(outcome);
    });
  });

  describe('allowedFrom (CONTRACT §5)', () => {
    const explicit: Record<JobAction, JobStatus[]> = {
      claim: ['queued'],
      succeed: ['running'],
      scheduleRetry: ['running'],
      fail: ['running'],
      finishCancelled: ['running'],
      release: ['running'],
      cancel: ['queued'],
      requestCancel: ['running'],
      retry: ['failed', 'cancelled'],
      delete: ['queued', 'succeeded', 'failed', 'cancelled'],
    };

    it.each(ACTIONS)('%s is allowed from exactly the listed statuses', (action) => {
      expect([...allowedFrom(action)].sort()).toEqual([...explicit[action]].sort());
    });

    it.each(ACTIONS)('%s agrees with the transition table', (action) => {
      const fromTable = JOB_STATUSES.filter((status) => expected(status, action) !== undefined);
      expect([...allowedFrom(action)].sort()).toEqual([...fromTable].sort());
    });

    it('never allows deleting a running job', () => {
      expect(allowedFrom('delete')).not.toContain('running');
    });
  });

  describe('cancelAction (CONTRACT §5)', () => {
    it.each<[JobStatus, 'cancel' | 'requestCancel' | undefined]>([
      ['queued', 'cancel'],
      ['running', 'requestCancel'],
      ['succeeded', undefined],
      ['failed', undefined],
      ['cancelled', undefined],
    ])('%s → %p', (status, action) => {
      expect(cancelAction(status)).toBe(action);
    });
  });

  describe('isFinal (CONTRACT §5)', () => {
    it.each<[JobStatus, boolean]>([
      ['queued', false],
      ['running', false],
      ['succeeded', true],
      ['failed', true],
      ['cancelled', true],
    ])('%s → %p', (status, final) => {
      expect(isFinal(status)).toBe(final);
    });

    it('lists exactly the final statuses', () => {
      expect([...FINAL_STATUSES].sort()).toEqual(['cancelled', 'failed', 'succeeded']);
    });

    it('has no action leading out of succeeded other than delete', () => {
      expect(ACTIONS.filter((action) => canTransition('succeeded', action))).toEqual(['delete']);
    });
  });

  describe('afterFailure (CONTRACT §5)', () => {
    type Case = [string, FailedAttempt, 'scheduleRetry' | 'fail' | 'finishCancelled'];
    const at = (attempts: number, retryable: boolean, cancelRequested: boolean): FailedAttempt => ({
      attempts,
      maxAttempts: 3,
      retryable,
      cancelRequested,
    });

    it.each<Case>([
      ['retryable, attempts < max', at(2, true, false), 'scheduleRetry'],
      ['retryable, attempts = max', at(3, true, false), 'fail'],
      ['retryable, attempts > max', at(4, true, false), 'fail'],
      ['non-retryable, attempts < max', at(1, false, false), 'fail'],
      ['non-retryable, attempts = max', at(3, false, false), 'fail'],
      ['non-retryable, attempts > max', at(4, false, false), 'fail'],
      ['cancel requested, retryable, attempts < max', at(1, true, true), 'finishCancelled'],
      ['cancel requested, retryable, attempts = max', at(3, true, true), 'finishCancelled'],
      ['cancel requested, retryable, attempts > max', at(4, true, true), 'finishCancelled'],
      ['cancel requested, non-retryable, attempts < max', at(1, false, true), 'finishCancelled'],
      ['cancel requested, non-retryable, attempts = max', at(3, false, true), 'finishCancelled'],
      ['cancel requested, non-retryable, attempts > max', at(4, false, true), 'finishCancelled'],
      ['single-attempt job, retryable', { ...at(1, true, false), maxAttempts: 1 }, 'fail'],
    ])('%s → %s', (_label, attempt, action) => {
      expect(afterFailure(attempt)).toBe(action);
      // The worker applies the result to a running job, so it must be a legal move from there.
      expect(canTransition('running', afterFailure(attempt))).toBe(true);
    });
  });

  it('records the six attempt outcomes (CONTRACT §5)', () => {
    expect(ATTEMPT_OUTCOMES).toEqual([
      'succeeded',
      'failed',
      'timeout',
      'cancelled',
      'lease_expired',
      'interrupted',
    ]);
  });
});
