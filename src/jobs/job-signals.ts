import { EventEmitter } from 'node:events';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Client } from 'pg';
import type { EntityManager } from 'typeorm';
import { databaseConfig } from '@lib/config';

const READY = 'jobs_ready';
const CANCEL = 'jobs_cancel';
const QUEUES = 'jobs_queues';
const RECONNECT_MS = { first: 500, max: 30_000 };

/**
 * Wake-ups for workers (CONTRACT §5): "a job became ready" and "cancel this running job".
 * In-process listeners hear this replica's own events at once; on PostgreSQL the events also go
 * out as NOTIFY (sent on commit, with the transaction that caused them) to every replica's
 * LISTEN connection. The embedded store is one process, so the in-process path is all it needs.
 * Lost notifications are harmless: workers also poll and heartbeats carry cancel requests.
 */
@Injectable()
export class JobSignals implements OnApplicationShutdown {
  private readonly logger = new Logger(JobSignals.name);
  private readonly events = new EventEmitter();
  private client?: Client;
  private readonly dead = new WeakSet<Client>();
  private retryTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(@Inject(databaseConfig.KEY) private readonly db: ConfigType<typeof databaseConfig>) {
    this.events.setMaxListeners(0);
  }

  onReady(listener: () => void): void {
    this.events.on(READY, listener);
  }

  onCancel(listener: (jobId: string) => void): void {
    this.events.on(CANCEL, listener);
  }

  /** A queue was paused or resumed. */
  onQueuesChanged(listener: () => void): void {
    this.events.on(QUEUES, listener);
  }

  /** Inside the transaction that made jobs ready: tells other replicas when it commits. */
  async publishReady(em: EntityManager): Promise<void> {
    const notify = this.readyExpression();
    if (notify) await em.query(`SELECT ${notify}`);
  }

  /**
   * The SQL expression that publishes "jobs ready", for a statement that makes jobs ready on its
   * own (no transaction to call publishReady in); null on the embedded store.
   */
  readyExpression(): string | null {
    return this.db.url ? `pg_notify('${READY}', '')` : null;
  }

  async publishCancel(em: EntityManager, jobId: string): Promise<void> {
    if (this.db.url) await em.query(`SELECT pg_notify('${CANCEL}', $1)`, [jobId]);
  }

  async publishQueuesChanged(em: EntityManager): Promise<void> {
    if (this.db.url) await em.query(`SELECT pg_notify('${QUEUES}', '')`);
  }

  queuesChangedLocally(): void {
    this.events.emit(QUEUES);
  }

  /** After the commit: wakes this replica's own worker without a round trip. */
  readyLocally(): void {
    this.events.emit(READY);
  }

  cancelLocally(jobId: string): void {
    this.events.emit(CANCEL, jobId);
  }

  /** Starts listening for other replicas (PostgreSQL only); reconnects with backoff on loss. */
  async listen(): Promise<void> {
    if (!this.db.url || this.client || this.closed) return;
    await this.connect(RECONNECT_MS.first);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(retryMs: number): Promise<void> {
    if (this.closed) return;
    const client = new Client({
      connectionString: this.db.url,
      application_name: 'jobs-service-listen',
      connectionTimeoutMillis: 5000,
      // A half-open connection would otherwise go unnoticed: polling covers the gap until then.
      keepAlive: true,
    });
    client.on('notification', (message) => {
      if (message.channel === READY) this.events.emit(READY);
      else if (message.channel === CANCEL && message.payload) this.events.emit(CANCEL, message.payload);
      else if (message.channel === QUEUES) this.events.emit(QUEUES);
    });
    client.on('error', () => this.reconnect(client, RECONNECT_MS.first));
    client.on('end', () => this.reconnect(client, RECONNECT_MS.first));
    try {
      await client.connect();
      await client.query(`LISTEN ${READY}; LISTEN ${CANCEL}; LISTEN ${QUEUES}`);
      if (this.closed) return void (await client.end());
      this.client = client;
      // Anything sent while we were not listening was missed: look once.
      this.events.emit(QUEUES);
      this.events.emit(READY);
    } catch (error) {
      this.logger.warn(`LISTEN connection failed (${String(error)}); polling meanwhile`);
      this.reconnect(client, retryMs);
    }
  }

  private reconnect(client: Client, retryMs: number): void {
    if (this.dead.has(client)) return;
    this.dead.add(client);
    if (this.client === client) this.client = undefined;
    client.removeAllListeners('notification');
    void client.end().catch(() => undefined);
    if (this.closed) return;
    this.retryTimer = setTimeout(() => void this.connect(Math.min(retryMs * 2, RECONNECT_MS.max)), retryMs);
    this.retryTimer.unref();
  }
}
