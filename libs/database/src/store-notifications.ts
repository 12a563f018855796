import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Client } from 'pg';
import type { EntityManager } from 'typeorm';
import { databaseConfig } from '@lib/config';

const RECONNECT_MS = { first: 500, max: 30_000 };

/** Hears one channel's payloads; null after a (re)connect: anything sent meanwhile was missed. */
export type NotificationListener = (payload: string | null) => void;

/**
 * Signals between replicas on PostgreSQL: NOTIFY sent with the transaction that caused it, and
 * one LISTEN connection per replica for every channel any module subscribed to, reconnected with
 * backoff on loss. The embedded store serves one process: there it sends and hears nothing, and
 * publishers act on their own replica directly. Notifications can be lost (while reconnecting):
 * subscribers are told (null) and must look for themselves.
 */
@Injectable()
export class StoreNotifications implements OnApplicationShutdown {
  private readonly logger = new Logger(StoreNotifications.name);
  private readonly listeners = new Map<string, NotificationListener[]>();
  private client?: Client;
  private readonly dead = new WeakSet<Client>();
  private retryTimer?: NodeJS.Timeout;
  private started = false;
  private closed = false;

  constructor(@Inject(databaseConfig.KEY) private readonly db: ConfigType<typeof databaseConfig>) {}

  /** Whether notifications reach other replicas (PostgreSQL); else publish sends nothing. */
  get enabled(): boolean {
    return Boolean(this.db.url);
  }

  /** `channel` must be a plain SQL identifier (a constant of the subscriber). */
  async subscribe(channel: string, listener: NotificationListener): Promise<void> {
    const known = this.listeners.get(channel);
    if (known) return void known.push(listener);
    this.listeners.set(channel, [listener]);
    if (this.client) await this.client.query(`LISTEN ${channel}`).catch(() => undefined);
  }

  /** Inside the transaction that made the change: sent when it commits, not at all if it rolls back. */
  async publish(em: EntityManager, channel: string, payload = ''): Promise<void> {
    if (this.enabled) await em.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /** Starts listening (PostgreSQL only; once); reconnects with backoff on loss. */
  async listen(): Promise<void> {
    if (!this.enabled || this.started || this.closed) return;
    this.started = true;
    await this.connect(RECONNECT_MS.first);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private emit(channel: string, payload: string | null): void {
    for (const listener of this.listeners.get(channel) ?? []) listener(payload);
  }

  private async connect(retryMs: number): Promise<void> {
    if (this.closed) return;
    const client = new Client({
      connectionString: this.db.url,
      application_name: 'jobs-service-listen',
      connectionTimeoutMillis: 5000,
      // A half-open connection would otherwise go unnoticed: subscribers poll meanwhile.
      keepAlive: true,
    });
    client.on('notification', (message) => this.emit(message.channel, message.payload ?? ''));
    client.on('error', () => this.reconnect(client, RECONNECT_MS.first));
    client.on('end', () => this.reconnect(client, RECONNECT_MS.first));
    try {
      await client.connect();
      const channels = [...this.listeners.keys()];
      if (channels.length > 0) await client.query(channels.map((channel) => `LISTEN ${channel}`).join('; '));
      if (this.closed) return void (await client.end());
      this.client = client;
      // Subscribed while this connection was being set up.
      const late = [...this.listeners.keys()].filter((channel) => !channels.includes(channel));
      if (late.length > 0) await client.query(late.map((channel) => `LISTEN ${channel}`).join('; '));
      for (const channel of this.listeners.keys()) this.emit(channel, null);
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
