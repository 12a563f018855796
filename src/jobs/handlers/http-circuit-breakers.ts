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

/** Circuits tracked at once; past it the least recently used closed circuit is forgotten. */
export const MAX_TRACKED_CIRCUITS = 1000;
/**
 * Targets the gauge exports at most, the most recently used first: jobs can name any host, so
 * without a cap one account could mint a series per made-up host.
 */
export const MAX_EXPORTED_TARGETS = 100;
const GAUGE = 'circuit_breaker_state';
const GAUGE_VALUE: Record<CircuitStateName, number> = { closed: 0, open: 1, 'half-open': 2 };
const SEVERITY: Record<CircuitStateName, number> = { closed: 0, 'half-open': 1, open: 2 };

export type HttpBreakerSettings = Pick<
  ConfigType<typeof jobsConfig>,
  'httpBreakerFailures' | 'httpBreakerHalfOpenSeconds'
> & { maxCircuits?: number };

interface Circuit {
  /** The target origin, which the gauge and the CIRCUIT_OPEN message name. */
  origin: string;
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

/** Whose calls to which origin one circuit judges. */
export interface CircuitKey {
  /** The job's owner: only their own jobs' failures can open their circuits. */
  owner: string;
  origin: string;
}

/**
 * One cockatiel circuit breaker per target origin for the `http` job type (CONTRACT §5): after
 * JOBS_HTTP_BREAKER_FAILURES consecutive failures an origin's attempts fail fast with a
 * CIRCUIT_OPEN deferral that reschedules the job, without spending an attempt, for when the circuit
 * half-opens (JOBS_HTTP_BREAKER_HALF_OPEN_SECONDS later); the next call is then a probe that
 * closes the circuit or opens it again.
 *
 * Each owner has their own circuit per origin. The caller shapes what counts as a failure (a
 * `timeoutMs` of 1 ms times out against any site, a malformed body can draw 5xx), so a shared
 * circuit let one account's jobs hold every other account's jobs to a healthy site. A real outage
 * now takes JOBS_HTTP_BREAKER_FAILURES calls per owner to learn, a small price. State is per
 * process: each replica learns on its own.
 */
@Injectable()
@ReadinessDetails('circuits')
export class HttpCircuitBreakers implements ReadinessDetailsSource {
  // A Map iterates in insertion order; re-inserting on use makes it an LRU.
  private readonly circuits = new Map<string, Circuit>();
  private readonly failures: number;
  private readonly halfOpenAfterMs: number;
  private readonly maxCircuits: number;

  constructor(@Inject(jobsConfig.KEY) settings: HttpBreakerSettings) {
    this.failures = settings.httpBreakerFailures;
    this.halfOpenAfterMs = settings.httpBreakerHalfOpenSeconds * 1000;
    this.maxCircuits = settings.maxCircuits ?? MAX_TRACKED_CIRCUITS;
  }

  /**
   * Runs `call` through the breaker of `key`. While the circuit is open (or its one probe is in
   * flight) rejects at once with JobDeferral CIRCUIT_OPEN (retryAfterMs = time until it
   * half-opens, ≥ 1). `isFailure` decides what counts against the circuit; any other outcome
   * counts as a success (resets the count, closes a half-open circuit), except an error thrown
   * after `signal` aborted, which counts neither way. Whatever `call` returns or throws is passed
   * through unchanged.
   */
  async execute<T>(
    key: CircuitKey,
    call: (signal: AbortSignal) => Promise<T>,
    isFailure: (outcome: { result?: T; error?: unknown }) => boolean,
    signal: AbortSignal,
  ): Promise<T> {
    const circuit = this.track(key);
    // cockatiel parks concurrent calls on the probe without heeding their signal, holding worker
    // slots for as long as the probe's timeout; we fail them fast instead. Had the probe failed,
    // the circuit would stay open for halfOpenAfter, so that is when they come back.
    if (circuit.policy.state === CircuitState.HalfOpen) {
      throw this.openFailure(circuit.origin, this.halfOpenAfterMs);
    }
    let settled: Settled<T>;
    try {
      settled = await circuit.policy.execute(() => settle(call, isFailure, signal), signal);
    } catch (error) {
      if (!isBrokenCircuitError(error)) throw error;
      throw this.openFailure(circuit.origin, circuit.openedAt + this.halfOpenAfterMs - Date.now());
    }
    if ('error' in settled.outcome) throw settled.outcome.error;
    return settled.outcome.result;
  }

  /**
   * Origins with a circuit that opened at least once while tracked, most recently used first,
   * with the state of their worst circuit now (open, then half-open, then closed): an origin some
   * owner's jobs find down is worth a look. Origins that never tripped are closed and
   * uninteresting; leaving them out keeps the gauge's cardinality to targets that actually
   * failed, not every host a job ever named. `half-open` also covers an open circuit whose wait
   * is over: its next call will be the probe.
   */
  states(): { target: string; state: CircuitStateName }[] {
    const worst = new Map<string, CircuitStateName>();
    for (const circuit of [...this.circuits.values()].reverse()) {
      if (!circuit.tripped) continue;
      const state = this.stateOf(circuit);
      const known = worst.get(circuit.origin);
      if (!known || SEVERITY[state] > SEVERITY[known]) worst.set(circuit.origin, state);
    }
    return [...worst].map(([target, state]) => ({ target, state }));
  }

  /**
   * Shown under `circuits` in /health/ready, which never fails on it: the service is fine. Counts
   * only: the probe answers anyone, and the targets are the users' business.
   */
  readinessDetails(): { open: number; halfOpen: number } {
    const states = this.states();
    const count = (state: CircuitStateName) => states.filter((s) => s.state === state).length;
    return { open: count('open'), halfOpen: count('half-open') };
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
      `Circuit open for ${origin} after repeated failures of your jobs there; next try in ${Math.ceil(ms / 1000)} s.`,
      ms,
    );
  }

  private track({ owner, origin }: CircuitKey): Circuit {
    // An owner id is a UUID, so no two keys make the same id.
    const id = `${owner} ${origin}`;
    const known = this.circuits.get(id);
    if (known) {
      this.circuits.delete(id);
      this.circuits.set(id, known);
      return known;
    }
    if (this.circuits.size >= this.maxCircuits) this.evictOne();
    const circuit = this.create(origin);
    this.circuits.set(id, circuit);
    return circuit;
  }

  /**
   * A job flood to random hosts must not grow memory without bound. Forgetting a closed circuit
   * loses at most a failure count below the threshold; an open one is dropped only when every
   * tracked circuit is open, and then the least recently used, since the bound matters more.
   */
  private evictOne(): void {
    for (const [id, circuit] of this.circuits) {
      if (circuit.policy.state === CircuitState.Closed) {
        this.circuits.delete(id);
        return;
      }
    }
    const oldest = this.circuits.keys().next();
    if (!oldest.done) this.circuits.delete(oldest.value);
  }

  private create(origin: string): Circuit {
    const policy = circuitBreaker(
      handleWhenResult((settled) => (settled as Settled<unknown>).failed),
      { halfOpenAfter: this.halfOpenAfterMs, breaker: new ConsecutiveBreaker(this.failures) },
    );
    const circuit: Circuit = { origin, policy, openedAt: 0, tripped: false };
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
          'fast), 2 half-open (the next attempt probes); the worst circuit of any owner. Lists ' +
          `origins that have tripped, at most ${MAX_EXPORTED_TARGETS}, the most recently used.`,
        labelNames: ['target'],
        collect() {
          this.reset();
          for (const { target, state } of breakers.states().slice(0, MAX_EXPORTED_TARGETS)) {
            this.set({ target }, GAUGE_VALUE[state]);
          }
        },
      });
    },
  },
];
