import { Client } from 'pg';
import { CATALOG_CHANNEL } from './catalog-store';

export interface CatalogListenerOptions {
  /** A catalogue change was announced (NOTIFY). */
  readonly onChange: () => void;
  /** The connection was (re-)established after a loss: changes may have been missed, so reload. */
  readonly onReconnect: () => void;
  readonly onError: (err: unknown, retryInMs: number) => void;
  readonly connectTimeoutMs: number;
  /** Reconnection backoff: first delay, doubled up to the maximum (±20% jitter). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

/**
 * The catalogue's LISTEN connection: a direct connection (LISTEN needs a session; a transaction-mode
 * pooler cannot carry it) that is re-established with backoff after any loss — a database restart,
 * failover or network cut — and asks for a reload each time it is, since NOTIFYs sent while it was
 * down are lost.
 */
export class CatalogListener {
  private client: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private attempt = 0;

  constructor(
    private readonly url: string,
    private readonly opts: CatalogListenerOptions,
  ) {}

  /** Connects and listens; the first connection must succeed (the server is starting against this database). */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.url,
      connectionTimeoutMillis: this.opts.connectTimeoutMs,
      keepAlive: true,
      application_name: 'taxiway-listen',
    });
    const lost = (err: unknown): void => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      this.retry(err);
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('the LISTEN connection ended')));
    client.on('notification', () => this.opts.onChange());
    try {
      await client.connect();
      await client.query(`LISTEN ${CATALOG_CHANNEL}`);
    } catch (e) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw e;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  private retry(err: unknown): void {
    if (this.stopped) return;
    const base = this.opts.retryBaseMs ?? 500;
    const delay = Math.round(Math.min(this.opts.retryMaxMs ?? 30_000, base * 2 ** Math.min(this.attempt, 10)) * (0.8 + 0.4 * Math.random()));
    this.attempt++;
    this.opts.onError(err, delay);
    this.timer = setTimeout(() => {
      this.connect().then(
        () => {
          this.attempt = 0;
          if (!this.stopped) this.opts.onReconnect();
        },
        (e: unknown) => this.retry(e),
      );
    }, delay);
    this.timer.unref();
  }
}
