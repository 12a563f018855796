import { Inject, Injectable, type Provider } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { getToken } from '@willsoto/nestjs-prometheus';
import {
  type CircuitBreakerPolicy,
  CircuitState,
  circuitBreaker,
  ConsecutiveBreaker,
  handleWhenResult,
  isBrokenCircuitError,
} from 'cockatiel';
import { Gauge, register } from 'prom-client';
import { ReadinessDetails, type ReadinessDetailsSource } from '@lib/common';
import { jobsConfig } from '@lib/config';
import { JobDeferral } from '../job-failure';

export type CircuitStateName = 'closed' | 'open' | 'half-open';

/** Origins tracked at once; past it the least recently used closed circuit is forgotten. */
export const MAX_TRACKED_ORIGINS = 1000;
/** Readiness lists at most this many circuits per state, so a probe's body stays small. */
const READINESS_LIST_MAX = 50;
const GAUGE = 'circuit_breaker_state';
const GAUGE_VALUE: Record<CircuitStateName, number> = { closed: 0, open: 1, 'half-open': 2 };

export type HttpBreakerSettings = Pick<
  ConfigType<typeof jobsConfig>,
  'httpBreakerFailures' | 'httpBreakerHalfOpenSeconds'
> & { maxOrigins?: number };

interface Circuit {
  policy: CircuitBreakerPolicy;
  /** When the circuit last opened (Date.now(), the clock cockatiel compares against). */
  openedAt: number;
  /** Has opened at least once while tracked: only those are worth exporting. */
  tripped: boolean;
}

/** What one call produced, with the caller's verdict, so cockatiel can count it as a result. */
interface Settled<T> {
  outcome: { result: T } | { error: unknown };
  failed: boolean;
}

/**
 * One cockatiel circuit breaker per target origin for the `http` job type (CONTRACT §5): after
 * JOBS_HTTP_BREAKER_FAILURES consecutive failures an origin's attempts fail fast with a
 * CIRCUIT_OPEN deferral that reschedules the job, without spending an attempt, for when the circuit
 * half-opens
 * (JOBS_HTTP_BREAKER_HALF_OPEN_SECONDS later); the next call is then a probe that closes the
 * circuit or opens it again. State is per process: each replica learns on its own.
 */
@Injectable()
@ReadinessDetails('circuits')
export class HttpCircuitBreakers implements ReadinessDetailsSource {
  // A Map iterates in insertion order; re-inserting on use makes it an LRU.
  private readonly circuits = new Map<string, Circuit>();
  private readonly failures: number;
  private readonly halfOpenAfterMs: number;
  private readonly maxOrigins: number;

  constructor(@Inject(jobsConfig.KEY) settings: HttpBreakerSettings) {
    this.failures = settings.httpBreakerFailures;
    this.halfOpenAfterMs = settings.httpBreakerHalfOpenSeconds * 1000;
    this.maxOrigins = settings.maxOrigins ?? MAX_TRACKED_ORIGINS;
  }

  /**
   * Runs `call` through the breaker of `origin`. While the circuit is open (or its one probe is in
   * flight) rejects at once with JobDeferral CIRCUIT_OPEN (retryAfterMs = time until it
   * half-opens, ≥ 1). `isFailure` decides what counts against the circuit; any other outcome
   * counts as a success (resets the count, closes a half-open circuit), except an error thrown
   * after `signal` aborted, which counts neither way. Whatever `call` returns or throws is passed
   * through unchanged.
   */
  async execute<T>(
    origin: string,
    call: (signal: AbortSignal) => Promise<T>,
    isFailure: (outcome: { result?: T; error?: unknown }) => boolean,
    signal: AbortSignal,
  ): Promise<T> {
    const circuit = this.track(origin);
    // cockatiel parks concurrent calls on the probe without heeding their signal, holding worker
    // slots for as long as the probe's timeout; we fail them fast instead. Had the probe failed,
    // the circuit would stay open for halfOpenAfter, so that is when they come back.
    if (circuit.policy.state === CircuitState.HalfOpen) {
      throw this.openFailure(origin, this.halfOpenAfterMs);
    }
    let settled: Settled<T>;
    try {
      settled = await circuit.policy.execute(() => settle(call, isFailure, signal), signal);
    } catch (error) {
      if (!isBrokenCircuitError(error)) throw error;
      throw this.openFailure(origin, circuit.openedAt + this.halfOpenAfterMs - Date.now());
    }
    if ('error' in settled.outcome) throw settled.outcome.error;
    return settled.outcome.result;
  }

  /**
   * Origins whose circuit opened at least once while tracked, with their state now. Origins that
   * never tripped are closed and uninteresting; leaving them out keeps the gauge's cardinality to
   * targets that actually failed, not every host a job ever named. `half-open` also covers an open
   * circuit whose wait is over: its next call will be the probe.
   */
  states(): { target: string; state: CircuitStateName }[] {
    const states: { target: string; state: CircuitStateName }[] = [];
    for (const [target, circuit] of this.circuits) {
      if (circuit.tripped) states.push({ target, state: this.stateOf(circuit) });
    }
    return states;
  }

  /** Shown under `circuits` in /health/ready, which never fails on it: the service is fine. */
  readinessDetails(): { open: string[]; halfOpen: string[] } {
    const states = this.states();
    const targets = (state: CircuitStateName) =>
      states
        .filter((s) => s.state === state)
        .map((s) => s.target)
        .slice(-READINESS_LIST_MAX);
    return { open: targets('open'), halfOpen: targets('half-open') };
  }

  private stateOf(circuit: Circuit): CircuitStateName {
    switch (circuit.policy.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        // cockatiel moves Open → HalfOpen only when the next call arrives; report what it will do.
        return Date.now() - circuit.openedAt >= this.halfOpenAfterMs ? 'half-open' : 'open';
    }
  }

  private openFailure(origin: string, retryAfterMs: number): JobDeferral {
    const ms = Math.max(1, Math.ceil(retryAfterMs));
    return new JobDeferral(
      'CIRCUIT_OPEN',
      `Circuit open for ${origin} after repeated failures; next try in ${Math.ceil(ms / 1000)} s.`,
      ms,
    );
  }

  private track(origin: string): Circuit {
    const known = this.circuits.get(origin);
    if (known) {
      this.circuits.delete(origin);
      this.circuits.set(origin, known);
      return known;
    }
    if (this.circuits.size >= this.maxOrigins) this.evictOne();
    const circuit = this.create();
    this.circuits.set(origin, circuit);
    return circuit;
  }

  /**
   * A job flood to random hosts must not grow memory without bound. Forgetting a closed circuit
   * loses at most a failure count below the threshold; an open one is dropped only when every
   * tracked circuit is open, and then the least recently used, since the bound matters more.
   */
  private evictOne(): void {
    for (const [origin, circuit] of this.circuits) {
      if (circuit.policy.state === CircuitState.Closed) {
        this.circuits.delete(origin);
        return;
      }
    }
    const oldest = this.circuits.keys().next();
    if (!oldest.done) this.circuits.delete(oldest.value);
  }

  private create(): Circuit {
    const policy = circuitBreaker(
      handleWhenResult((settled) => (settled as Settled<unknown>).failed),
      { halfOpenAfter: this.halfOpenAfterMs, breaker: new ConsecutiveBreaker(this.failures) },
    );
    const circuit: Circuit = { policy, openedAt: 0, tripped: false };
    // Fired synchronously right after cockatiel stamps its own openedAt with Date.now().
    policy.onBreak(() => {
      circuit.openedAt = Date.now();
      circuit.tripped = true;
    });
    return circuit;
  }
}

/**
 * Turns the call's outcome into a value cockatiel judges by `failed`, so a thrown 4xx can count
 * as the success it is (the origin answered). An error thrown once the caller's signal aborted is
 * rethrown instead: cockatiel then counts nothing in a closed circuit (a cancellation says nothing
 * about the origin); a cancelled probe closes the circuit, but the breaker's count stays at the
 * threshold, so the very next failure opens it again.
 */
async function settle<T>(
  call: (signal: AbortSignal) => Promise<T>,
  isFailure: (outcome: { result?: T; error?: unknown }) => boolean,
  signal: AbortSignal,
): Promise<Settled<T>> {
  try {
    const result = await call(signal);
    return { outcome: { result }, failed: isFailure({ result }) };
  } catch (error) {
    const failed = isFailure({ error });
    if (signal.aborted && !failed) throw error;
    return { outcome: { error }, failed };
  }
}

/**
 * `circuit_breaker_state{target}` (CONTRACT §7), read from the breakers at scrape time. Built here
 * rather than with makeGaugeProvider, which reuses a same-named gauge already registered and so
 * would keep reading the breakers of the first app built in the process (tests build many).
 */
export const httpBreakerMetricProviders: Provider[] = [
  {
    provide: getToken(GAUGE),
    inject: [HttpCircuitBreakers],
    useFactory: (breakers: HttpCircuitBreakers) => {
      register.removeSingleMetric(GAUGE);
      return new Gauge({
        name: GAUGE,
        help:
          'Circuit breaker state per target origin of http jobs: 0 closed, 1 open (attempts fail ' +
          'fast), 2 half-open (the next attempt probes). Lists origins that have tripped.',
        labelNames: ['target'],
        collect() {
          this.reset();
          for (const { target, state } of breakers.states()) this.set({ target }, GAUGE_VALUE[state]);
        },
      });
    },
  },
];
