import { setTimeout as sleep } from 'node:timers/promises';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import { JobHandler, type HandlesJob, type JobContext } from '../job-handler';

@JSONSchema({ example: { ms: 2000, steps: 4 } })
export class SleepPayload {
  /** How long to sleep, in milliseconds (at most an hour). */
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  ms!: number;

  /** In how many steps, each reporting progress. Default 1. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  steps?: number;
}

/** `sleep`: waits `ms` in `steps`, reporting progress after each; stops at once when aborted. */
@JobHandler({
  type: 'sleep',
  payload: SleepPayload,
  defaultTimeoutSeconds: 3600,
  description: 'Sleeps for `ms` milliseconds in `steps`, reporting progress; honours cancel.',
})
export class SleepHandler implements HandlesJob<SleepPayload, { sleptMs: number }> {
  async handle({ payload, signal, progress }: JobContext<SleepPayload>): Promise<{ sleptMs: number }> {
    const steps = payload.steps ?? 1;
    for (let step = 1; step <= steps; step += 1) {
      // Rejects with the signal's reason as soon as it fires: cancel, timeout or shutdown.
      await sleep(payload.ms / steps, undefined, { signal });
      progress(Math.floor((step * 100) / steps), `step ${step} of ${steps}`);
    }
    return { sleptMs: payload.ms };
  }
}
