import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceClient } from '../../test/support/service-client';
import { spawnService, type SpawnedService } from '../../test/support/spawn-service';
import { TcpProxy } from '../../test/support/tcp-proxy';
import { BASE_TEST_ENV } from '../../test/support/test-env';

/**
 * One replica of the service: the built dist/src/main.js as a child process, reaching the store
 * through a TCP proxy of its own (so its store can be cut alone). It can be killed, stopped,
 * frozen and restarted; job_stale_writes_total is read from each of its processes before they
 * go (best effort: a SIGKILL takes the last increments with it).
 */
export class Replica {
  service?: SpawnedService;
  api?: ServiceClient;
  frozen = false;
  /** Stale writes refused by this replica's earlier processes, and by the current one so far. */
  private staleBanked = 0;
  private staleSeen = 0;
  restarts = 0;

  private constructor(
    readonly name: string,
    readonly proxy: TcpProxy,
    private readonly env: Record<string, string>,
  ) {}

  static async create(name: string, storeUrl: string, env: Record<string, string>): Promise<Replica> {
    const url = new URL(storeUrl);
    const proxy = await new TcpProxy(url.hostname, Number(url.port || 5432)).start();
    return new Replica(name, proxy, { ...env, DATABASE_URL: proxy.urlFor(storeUrl) });
  }

  get up(): boolean {
    const child = this.service?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  get staleWrites(): number {
    return this.staleBanked + this.staleSeen;
  }

  async start(): Promise<void> {
    this.service = await spawnService({ ...this.env }, 60_000);
    // The log is not needed past start-up; keeping every line would grow without bound.
    this.service.child.stdout?.removeAllListeners('data');
    this.service.child.stdout?.resume();
    this.staleSeen = 0;
    const { ADMIN_EMAIL, ADMIN_PASSWORD } = BASE_TEST_ENV;
    this.api = await ServiceClient.login(this.service.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  }

  /** Reads job_stale_writes_total now; keeps the last value if the process does not answer. */
  async scrapeStale(): Promise<void> {
    if (!this.up || this.frozen || !this.api) return;
    try {
      const answer = await this.api.request('GET', '/metrics', undefined, 2000);
      if (answer.status !== 200) return;
      let total = 0;
      for (const match of answer.body.matchAll(/^job_stale_writes_total\{[^}]*\} (\S+)$/gm)) {
        total += Number(match[1]);
      }
      this.staleSeen = total;
    } catch {
      // Best effort: a process on its way down may not answer.
    }
  }

  /** Sends `signal` and waits for the exit (SIGTERM: the drain); returns how it ended. */
  async stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await this.scrapeStale();
    const exit = await this.service!.stop(signal);
    this.staleBanked += this.staleSeen;
    this.staleSeen = 0;
    return exit;
  }

  async restart(): Promise<void> {
    this.restarts += 1;
    await this.start();
  }

  freeze(): void {
    this.frozen = true;
    this.service?.child.kill('SIGSTOP');
  }

  thaw(): void {
    this.service?.child.kill('SIGCONT');
    this.frozen = false;
  }

  /** Back to normal: store reachable, process running and answering readiness. */
  async heal(): Promise<void> {
    this.proxy.restore();
    if (this.frozen) this.thaw();
    if (!this.up) await this.restart();
    for (let i = 0; i < 200; i += 1) {
      const ready = await this.api!.request('GET', '/health/ready', undefined, 2000);
      if (ready.status === 200) return;
      await sleep(100);
    }
    throw new Error(`${this.name} is not ready 20 s after healing`);
  }

  async close(): Promise<void> {
    if (this.frozen) this.thaw();
    if (this.up) await this.stop('SIGKILL');
    await this.proxy.stop();
  }
}
