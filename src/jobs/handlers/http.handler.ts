import { Inject, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Agent } from 'undici';
import { jobsConfig } from '@lib/config';
import { JobFailure } from '../job-failure';
import { JobHandler, type HandlesJob, type JobContext } from '../job-handler';
import { HttpCircuitBreakers } from './http-circuit-breakers';
import { exchange, fitted, type HttpResult, requestOf, statusFailure } from './http-exchange';
import {
  DEFAULT_TIMEOUT_MS,
  HttpPayload,
  MAX_TIMEOUT_MS,
  matchesStatus,
  payloadProblems,
} from './http-payload';
import { guardedLookup, HostAllowList, refuseUrl } from './http-target-guard';

/**
 * `http`: one HTTP call per attempt (CONTRACT §5). Connections are pooled per origin by one
 * undici Agent whose DNS lookup enforces the SSRF rules (http-target-guard.ts); redirects are
 * never followed, a 3xx is judged by `expectStatus` like any other status. Each call goes through
 * the circuit breaker of its owner and origin; while that is open the attempt is deferred
 * (http-circuit-breakers.ts).
 */
@JobHandler({
  type: 'http',
  payload: HttpPayload,
  // Room for the longest allowed request timeout; the payload's timeoutMs is the real limit.
  defaultTimeoutSeconds: MAX_TIMEOUT_MS / 1000 + 30,
  description: 'Calls an HTTP(S) endpoint; retries on network errors, timeouts, 5xx and 429.',
})
export class HttpHandler implements HandlesJob<HttpPayload, HttpResult>, OnApplicationShutdown {
  private readonly allow: HostAllowList;
  private readonly agent: Agent;

  constructor(
    @Inject(jobsConfig.KEY) private readonly config: ConfigType<typeof jobsConfig>,
    private readonly breakers: HttpCircuitBreakers,
  ) {
    this.allow = new HostAllowList(config.httpAllowedHosts);
    this.agent = new Agent({ connect: { lookup: guardedLookup(this.allow) } });
  }

  validate(payload: HttpPayload): { field: string; message: string }[] {
    return payloadProblems(payload, this.allow);
  }

  async handle({ job, payload, attempt, signal }: JobContext<HttpPayload>): Promise<HttpResult> {
    const url = new URL(payload.url);
    // Again at run time: the allow-list may have changed since submit, and IP literals never
    // reach the guarded DNS lookup.
    const refused = refuseUrl(url, this.allow);
    if (refused) throw new JobFailure('HTTP_TARGET_REFUSED', refused, { retryable: false });
    const call = requestOf(payload, job.id, attempt);
    const limits = {
      timeoutMs: payload.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxBytes: this.config.httpMaxResponseBytes,
    };
    const result = await this.breakers.execute(
      { owner: job.ownerId, origin: url.origin },
      () => exchange(this.agent, url, call, limits, signal),
      countsAgainstTarget,
      signal,
    );
    if (!matchesStatus(payload.expectStatus ?? '2xx', result.status)) {
      throw statusFailure(result, call.method, url);
    }
    return fitted(result, this.config.maxResultBytes);
  }

  async onApplicationShutdown(): Promise<void> {
    // After the engine's drain: nothing is in flight any more, only idle keep-alive sockets.
    await this.agent.destroy();
  }
}

/** What says the target is down: no answer, or 5xx/429. A 4xx, a cancel or an SSRF refusal do not. */
function countsAgainstTarget(outcome: { result?: HttpResult; error?: unknown }): boolean {
  if (outcome.result) return outcome.result.status >= 500 || outcome.result.status === 429;
  return (
    outcome.error instanceof JobFailure && ['HTTP_NETWORK_ERROR', 'HTTP_TIMEOUT'].includes(outcome.error.code)
  );
}
