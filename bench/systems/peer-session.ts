/**
 * The common half of a peer (pg-boss, graphile-worker): the submitter lives in the bench process,
 * the worker in a child process (plain node, like our service) so its RSS is measured the same
 * way. Handler starts come back over IPC on the child's clock and are mapped onto ours.
 */
import { BenchChild } from '../support/child';
import type { Session } from './system';

export interface PeerClient {
  insert(count: number): Promise<void>;
  submitOne(): Promise<void>;
  /** Jobs still unfinished in the store. */
  unfinished(): Promise<number>;
  close(): Promise<void>;
}

export class PeerSession implements Session {
  private child?: BenchChild;
  private offset = 0;

  constructor(
    private readonly client: PeerClient,
    private readonly workerFile: string,
    private readonly databaseUrl: string,
    private readonly dropStore: () => Promise<void>,
  ) {}

  /** The submitter connected in open(). */
  prepareEnqueue(): Promise<void> {
    return Promise.resolve();
  }

  enqueue(count: number): Promise<void> {
    return this.client.insert(count);
  }

  async startWorker(options: { trace?: boolean } = {}): Promise<void> {
    if (this.child) return;
    ({ child: this.child } = await BenchChild.start(this.workerFile, {
      DATABASE_URL: this.databaseUrl,
      BENCH_TRACE: options.trace ? '1' : '0',
    }));
    if (options.trace) this.offset = await this.child.clockOffset();
  }

  private get worker(): BenchChild {
    if (!this.child) throw new Error('no worker running');
    return this.child;
  }

  processed(): Promise<number> {
    return Promise.resolve(this.worker.handled);
  }

  /** Handled is not yet committed: the peers commit completions after the handler. */
  async drained(jobs: number): Promise<boolean> {
    return this.worker.handled >= jobs && (await this.client.unfinished()) === 0;
  }

  workerPid(): number {
    return this.worker.pid;
  }

  /** A peer enqueues inside the bench process, through its library. */
  enqueuePid(): undefined {
    return undefined;
  }

  async pickup(): Promise<number> {
    const started = this.worker.next('started');
    const t0 = performance.now();
    await this.client.submitOne();
    const { at } = await started;
    return at - this.offset - t0;
  }

  async close(): Promise<void> {
    try {
      await this.child?.stop();
      await this.client.close();
    } finally {
      await this.dropStore();
    }
  }
}
