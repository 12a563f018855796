import { JobHandler, type HandlesJob, type JobContext } from '../job-handler';

/** `noop`: completes at once with its payload as the result; for smoke tests and benchmarks. */
@JobHandler({
  type: 'noop',
  defaultTimeoutSeconds: 60,
  description: 'Completes at once with its payload as the result.',
})
export class NoopHandler implements HandlesJob<unknown, unknown> {
  handle({ payload }: JobContext<unknown>): Promise<unknown> {
    return Promise.resolve(payload);
  }
}
