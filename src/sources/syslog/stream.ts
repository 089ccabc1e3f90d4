/**
 * One syslog TCP or TLS connection: framing, batching, and backpressure.
 *
 * Design note: syslog has no acknowledgements, so the only way to say "slow
 * down" is TCP flow control. A connection keeps at most `maxInFlightRecords`
 * on their way into the store (two store commits' worth, so that even a single
 * connection keeps the store busy while the next commit is parsed); while
 * that many are pending, or while a batch refused by the queue (full, rate
 * limited, store unavailable) waits to be retried, the socket is paused. The kernel's receive buffer then fills, the
 * window closes and the sender's own queue (rsyslog's action queue,
 * syslog-ng's disk buffer) holds the rest. A refused batch is retried with
 * backoff, never dropped while the server runs. A broken octet-counting
 * stream cannot be resynchronised and is closed after what it sent before the
 * damage is stored.
 */
import type { Socket } from 'node:net';
import type { LogRecord } from '../../record/record.ts';
import { nowNs } from '../../record/time.ts';
import type { Logger } from '../../util/logger.ts';
import type { IngestContext, Ingestor } from '../ingestor.ts';
import { RateLimitedError } from '../ingestor.ts';
import { SyslogFramer } from './framing.ts';
import { RecordBatcher, type BatchOptions } from './batch.ts';
import type { Metrics } from '../../metrics/metrics.ts';

const FIRST_RETRY_MS = 10;
/** A refused batch is retried at least this often: the queue frees room in the time of one commit. */
const MAX_RETRY_MS = 250;

export interface StreamOptions extends BatchOptions {
  maxMessageBytes: number;
  oversize: 'reject' | 'truncate';
  idleTimeoutMs: number;
  /** Records of one connection on their way to the store before it stops reading. */
  maxInFlightRecords: number;
}

export interface StreamDeps {
  ingestor: Ingestor;
  metrics: Metrics;
  logger: Logger;
  options: StreamOptions;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class StreamConnection {
  private readonly socket: Socket;
  private readonly ctx: IngestContext;
  private readonly deps: StreamDeps;
  private readonly framer: SyslogFramer;
  private readonly batcher: RecordBatcher;
  private readonly peer: string;
  private readonly pending = new Set<Promise<void>>();
  private inFlightRecords = 0;
  private retrying = 0;
  private now = 0n;
  private ended = false;
  /** Set at shutdown once the grace period is over: refused batches are no longer retried. */
  private abandoned = false;

  constructor(socket: Socket, ctx: IngestContext, peer: string, deps: StreamDeps) {
    this.socket = socket;
    this.ctx = ctx;
    this.deps = deps;
    this.peer = peer;
    const { options, ingestor } = deps;
    this.batcher = new RecordBatcher(ingestor, deps.metrics, ctx, options, (records, bytes) => this.store(records, bytes));
    this.framer = new SyslogFramer(
      {
        frame: (bytes, truncated) => this.batcher.add(bytes, truncated, this.now, this.peer),
        oversize: () => ingestor.reject(ctx, 'line_too_long'),
        error: (reason) => {
          ingestor.reject(ctx, 'framing_error');
          deps.logger.warn({ peer, tenant: ctx.tenant, reason }, 'syslog: broken framing, closing the connection');
          this.finish();
        },
      },
      { maxBytes: options.maxMessageBytes, oversize: options.oversize },
    );
    socket.on('data', (chunk: Buffer) => {
      ingestor.received(ctx, chunk.length);
      this.now = nowNs();
      this.framer.push(chunk);
    });
    socket.on('end', () => {
      this.framer.end();
      this.finish();
    });
    // A reset peer: what arrived before is still stored.
    socket.on('error', (err) => {
      deps.logger.debug({ peer, err: err.message }, 'syslog: connection error');
      this.finish();
    });
    if (options.idleTimeoutMs > 0) {
      socket.setTimeout(options.idleTimeoutMs, () => {
        // Quiet because this side stopped reading is not idle.
        if (this.pending.size > 0 || this.retrying > 0) socket.setTimeout(options.idleTimeoutMs);
        else {
          deps.logger.debug({ peer }, 'syslog: idle connection closed');
          this.framer.end();
          this.finish();
        }
      });
    }
  }

  /** Server shutdown: stop reading, store what was received, and wait for it (up to timeoutMs). */
  async shutdown(timeoutMs: number): Promise<void> {
    this.finish();
    const all = Promise.all([...this.pending]).then(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.abandoned = true;
    this.socket.destroy();
  }

  /** No more input: the last batch goes to the store, the socket closes once everything is stored. */
  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.pause();
    this.batcher.flush();
    this.closeWhenStored();
  }

  private closeWhenStored(): void {
    if (this.ended && this.pending.size === 0) this.socket.destroy();
  }

  private store(records: LogRecord[], bytes: number): void {
    const done = this.submit(records, bytes).finally(() => {
      this.pending.delete(done);
      this.inFlightRecords -= records.length;
      this.resumeIfIdle();
      this.closeWhenStored();
    });
    this.pending.add(done);
    this.inFlightRecords += records.length;
    if (this.inFlightRecords >= this.deps.options.maxInFlightRecords) this.socket.pause();
  }

  private async submit(records: LogRecord[], bytes: number): Promise<void> {
    let delay = FIRST_RETRY_MS;
    for (;;) {
      try {
        await this.deps.ingestor.submit(records, this.ctx, bytes);
        return;
      } catch (err) {
        // Counted by the Ingestor under its reason; the batch stays here and is tried again.
        if (this.abandoned) return;
        this.retrying++;
        this.socket.pause();
        const wait = err instanceof RateLimitedError ? err.retryAfterSeconds * 1000 : delay;
        delay = Math.min(delay * 2, MAX_RETRY_MS);
        if ((err as Error).name !== 'QueueFullError' && !(err instanceof RateLimitedError)) {
          this.deps.logger.warn({ err: (err as Error).message, tenant: this.ctx.tenant }, 'syslog: storing a batch failed; retrying');
        }
        await sleep(wait);
        this.retrying--;
      }
    }
  }

  private resumeIfIdle(): void {
    if (!this.ended && this.retrying === 0 && this.inFlightRecords < this.deps.options.maxInFlightRecords) this.socket.resume();
  }
}
