import type { Gauge } from 'prom-client';
import { JobFailure } from '../job-failure';
import {
  HttpCircuitBreakers,
  httpBreakerMetricProviders,
  MAX_EXPORTED_TARGETS,
} from './http-circuit-breakers';

interface Reply {
  status: number;
}

const A = 'https://a.example.com:443';
const B = 'https://b.example.com:443';
const OWNER = '00000000-0000-4000-8000-000000000001';
const OTHER_OWNER = '00000000-0000-4000-8000-000000000002';
const FAILURES = 3;
const HALF_OPEN_MS = 30_000;

// The handler's rule: network errors, timeouts, 5xx and 429 count; 4xx and cancellations do not.
class ClientError extends Error {}
const isFailure = ({ result, error }: { result?: Reply; error?: unknown }): boolean =>
  error !== undefined
    ? !(error instanceof ClientError) && !(error instanceof DOMException)
    : result!.status >= 500 || result!.status === 429;

const ok = () => Promise.resolve<Reply>({ status: 200 });
const status = (code: number) => () => Promise.resolve<Reply>({ status: code });
const refused = () => Promise.reject<Reply>(new Error('connect ECONNREFUSED'));

function breakers(maxCircuits?: number): HttpCircuitBreakers {
  return new HttpCircuitBreakers({
    httpBreakerFailures: FAILURES,
    httpBreakerHalfOpenSeconds: HALF_OPEN_MS / 1000,
    maxCircuits,
  });
}

describe('HttpCircuitBreakers', () => {
  let b: HttpCircuitBreakers;
  const signal = new AbortController().signal;
  const run = (origin: string, call: () => Promise<Reply>, s = signal, owner = OWNER) =>
    b.execute({ owner, origin }, call, isFailure, s);
  const circuitOpen = (origin: string, owner = OWNER): Promise<JobFailure> =>
    run(origin, () => Promise.reject(new Error('must not be called')), signal, owner).then(
      () => Promise.reject(new Error('expected CIRCUIT_OPEN')),
      (error: unknown) => error as JobFailure,
    );
  const trip = async (origin: string, owner = OWNER) => {
    for (let i = 0; i < FAILURES; i++)
      await expect(run(origin, refused, signal, owner)).rejects.toThrow('ECONNREFUSED');
  };

  beforeEach(() => {
    // cockatiel reads Date.now() to decide when an open circuit may half-open.
    jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    b = breakers();
  });
  afterEach(() => jest.useRealTimers());

  it('passes results and errors through unchanged while closed', async () => {
    await expect(run(A, ok)).resolves.toEqual({ status: 200 });
    await expect(run(A, status(503))).resolves.toEqual({ status: 503 });
    await expect(run(A, refused)).rejects.toThrow('ECONNREFUSED');
    expect(b.states()).toEqual([]);
  });

  it('opens after N consecutive failures and then fails fast with CIRCUIT_OPEN', async () => {
    await run(A, status(500));
    await run(A, status(429));
    await expect(run(A, refused)).rejects.toThrow('ECONNREFUSED');

    const failure = await circuitOpen(A);
    expect(failure).toBeInstanceOf(JobFailure);
    expect(failure.code).toBe('CIRCUIT_OPEN');
    expect(failure.options).toEqual({ retryAfterMs: HALF_OPEN_MS });
    expect(failure.options.retryable).not.toBe(false);
    expect(b.states()).toEqual([{ target: A, state: 'open' }]);
  });

  it('retryAfterMs counts down to the half-open moment, never below 1 ms', async () => {
    await trip(A);
    jest.advanceTimersByTime(20_000);
    expect((await circuitOpen(A)).options.retryAfterMs).toBe(10_000);
    jest.advanceTimersByTime(HALF_OPEN_MS - 20_000 - 1);
    expect((await circuitOpen(A)).options.retryAfterMs).toBe(1);
  });

  it('needs the failures to be consecutive: a success resets the count', async () => {
    for (let i = 0; i < 3; i++) {
      await run(A, status(502));
      await run(A, status(502));
      await run(A, ok);
    }
    await expect(run(A, ok)).resolves.toEqual({ status: 200 });
    expect(b.states()).toEqual([]);
  });

  it('does not count what isFailure rejects (4xx results or errors); a 4xx answer resets the count', async () => {
    for (let i = 0; i < 2 * FAILURES; i++) await run(A, status(404));
    await run(A, status(500));
    await run(A, status(500));
    await expect(run(A, () => Promise.reject(new ClientError('400')))).rejects.toThrow(ClientError);
    await run(A, status(500));
    await run(A, status(500));
    await expect(run(A, ok)).resolves.toEqual({ status: 200 });
  });

  it('does not count a call cancelled through its signal', async () => {
    await run(A, status(500));
    await run(A, status(500));
    const cancel = new AbortController();
    cancel.abort();
    const aborted = () => Promise.reject<Reply>(new DOMException('aborted', 'AbortError'));
    await expect(run(A, aborted, cancel.signal)).rejects.toThrow('aborted');
    await run(A, status(500));
    expect((await circuitOpen(A)).code).toBe('CIRCUIT_OPEN');
  });

  it('half-opens after the configured time; a successful probe closes the circuit', async () => {
    await trip(A);
    jest.advanceTimersByTime(HALF_OPEN_MS - 1);
    expect(b.states()).toEqual([{ target: A, state: 'open' }]);
    jest.advanceTimersByTime(1);
    expect(b.states()).toEqual([{ target: A, state: 'half-open' }]);

    const probe = jest.fn(ok);
    await expect(run(A, probe)).resolves.toEqual({ status: 200 });
    expect(probe).toHaveBeenCalledTimes(1);
    expect(b.states()).toEqual([{ target: A, state: 'closed' }]);
    await expect(run(A, status(201))).resolves.toEqual({ status: 201 });
  });

  it('a failed probe opens the circuit again for the full time', async () => {
    await trip(A);
    jest.advanceTimersByTime(HALF_OPEN_MS);
    await expect(run(A, status(503))).resolves.toEqual({ status: 503 });
    expect(b.states()).toEqual([{ target: A, state: 'open' }]);
    expect((await circuitOpen(A)).options.retryAfterMs).toBe(HALF_OPEN_MS);
  });

  it('lets one probe through at a time; the others fail fast meanwhile', async () => {
    await trip(A);
    jest.advanceTimersByTime(HALF_OPEN_MS);
    let answer!: (reply: Reply) => void;
    const probe = run(A, () => new Promise<Reply>((resolve) => (answer = resolve)));
    expect(b.states()).toEqual([{ target: A, state: 'half-open' }]);

    const meanwhile = await circuitOpen(A);
    expect(meanwhile.code).toBe('CIRCUIT_OPEN');
    expect(meanwhile.options.retryAfterMs).toBe(HALF_OPEN_MS);

    answer({ status: 200 });
    await expect(probe).resolves.toEqual({ status: 200 });
    await expect(run(A, ok)).resolves.toEqual({ status: 200 });
  });

  it('keeps origins independent', async () => {
    await trip(A);
    await run(B, status(500));
    expect((await circuitOpen(A)).code).toBe('CIRCUIT_OPEN');
    await expect(run(B, ok)).resolves.toEqual({ status: 200 });
    expect(b.states()).toEqual([{ target: A, state: 'open' }]);
  });

  it("keeps owners independent: one owner's failures do not hold another's jobs to the same origin", async () => {
    await trip(A);
    expect((await circuitOpen(A)).code).toBe('CIRCUIT_OPEN');
    const other = jest.fn(ok);
    await expect(run(A, other, signal, OTHER_OWNER)).resolves.toEqual({ status: 200 });
    expect(other).toHaveBeenCalledTimes(1);
    // The other owner's count starts from zero too.
    await run(A, status(500), signal, OTHER_OWNER);
    await run(A, status(500), signal, OTHER_OWNER);
    await expect(run(A, ok, signal, OTHER_OWNER)).resolves.toEqual({ status: 200 });
  });

  it("reports an origin once, in its owners' worst state", async () => {
    await trip(A);
    await trip(A, OTHER_OWNER);
    jest.advanceTimersByTime(HALF_OPEN_MS);
    await run(A, ok, signal, OTHER_OWNER); // the other owner's probe closes theirs
    expect(b.states()).toEqual([{ target: A, state: 'half-open' }]);
    await trip(B, OTHER_OWNER);
    await run(B, ok);
    expect(b.states()).toEqual([
      { target: B, state: 'open' },
      { target: A, state: 'half-open' },
    ]);
  });

  it('bounds the circuits it tracks, forgetting closed circuits before open ones', async () => {
    b = breakers(2);
    await trip(A);
    await run(B, status(500));
    await run(B, status(500));
    await run('https://c.example.com:443', ok); // evicts B (closed), not A (open, older)

    expect((await circuitOpen(A)).code).toBe('CIRCUIT_OPEN');
    await run(B, status(500)); // B starts over: one failure, not three
    await expect(run(B, ok)).resolves.toEqual({ status: 200 });

    for (let i = 0; i < 5000; i++)
      await run(`https://host-${i}.example.com:443`, refused).catch(() => undefined);
    expect((b as unknown as { circuits: Map<string, unknown> }).circuits.size).toBe(2);
  });

  it('when every tracked circuit is open, forgets the least recently used', async () => {
    b = breakers(2);
    await trip(A);
    await trip(B);
    await run('https://c.example.com:443', ok);
    await expect(run(A, ok)).resolves.toEqual({ status: 200 });
    expect((await circuitOpen(B)).code).toBe('CIRCUIT_OPEN');
  });

  it('counts open and half-open origins for readiness, without naming them', async () => {
    await trip(A);
    await trip(A, OTHER_OWNER);
    jest.advanceTimersByTime(HALF_OPEN_MS);
    await trip(B);
    await trip('https://c.example.com:443');
    await run('https://fine.example.com:443', ok);
    expect(b.readinessDetails()).toEqual({ open: 2, halfOpen: 1 });
  });

  it('exports circuit_breaker_state{target}: 0 closed, 1 open, 2 half-open', async () => {
    const provider = httpBreakerMetricProviders[0] as { useFactory: (b: HttpCircuitBreakers) => Gauge };
    const gauge = provider.useFactory(b);
    await trip(A);
    await trip(B);
    jest.advanceTimersByTime(HALF_OPEN_MS);
    await run(B, ok);
    await trip('https://c.example.com:443');

    const { values } = await gauge.get();
    expect(values.map(({ labels, value }) => [labels.target, value])).toEqual([
      ['https://c.example.com:443', 1],
      [B, 0],
      [A, 2],
    ]);
  });

  it('exports at most MAX_EXPORTED_TARGETS targets, the most recently used', async () => {
    const provider = httpBreakerMetricProviders[0] as { useFactory: (b: HttpCircuitBreakers) => Gauge };
    const gauge = provider.useFactory(b);
    const hosts = Array.from(
      { length: MAX_EXPORTED_TARGETS + 20 },
      (_, i) => `https://h${i}.example.com:443`,
    );
    for (const host of hosts) await trip(host);

    const { values } = await gauge.get();
    expect(values.map(({ labels }) => labels.target)).toEqual(hosts.slice(20).reverse());
  });
});
