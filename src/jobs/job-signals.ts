import { EventEmitter } from 'node:events';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { StoreNotifications } from '@lib/database';

const READY = 'jobs_ready';
const CANCEL = 'jobs_cancel';
const QUEUES = 'jobs_queues';

/**
 * Wake-ups for workers (CONTRACT §5): "a job became ready" and "cancel this running job".
 * In-process listeners hear this replica's own events at once; on PostgreSQL the events also go
 * out as NOTIFY (sent on commit, with the transaction that caused them) to every replica
 * (StoreNotifications). The embedded store is one process, so the in-process path is all it needs.
 * Lost notifications are harmless: workers also poll and heartbeats carry cancel requests.
 */
@Injectable()
export class JobSignals {
  private readonly events = new EventEmitter();

  constructor(private readonly notifications: StoreNotifications) {
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
    return this.notifications.enabled ? `pg_notify('${READY}', '')` : null;
  }

  async publishCancel(em: EntityManager, jobId: string): Promise<void> {
    await this.notifications.publish(em, CANCEL, jobId);
  }

  async publishQueuesChanged(em: EntityManager): Promise<void> {
    await this.notifications.publish(em, QUEUES);
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

  /**
   * Hears other replicas (PostgreSQL only). After a (re)connect, anything sent meanwhile was
   * missed: workers look once (queues and ready jobs; cancel requests ride on heartbeats).
   */
  async listen(): Promise<void> {
    // Queues first: after a reconnect, paused types are known again before the claim they wake.
    await this.notifications.subscribe(QUEUES, () => this.events.emit(QUEUES));
    await this.notifications.subscribe(READY, () => this.events.emit(READY));
    await this.notifications.subscribe(CANCEL, (jobId) => {
      if (jobId) this.events.emit(CANCEL, jobId);
    });
    await this.notifications.listen();
  }
}
