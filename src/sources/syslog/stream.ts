/**
 * One syslog TCP or TLS connection: framing, batching, and backpressure.
 *
 * Design note: syslog has no acknowledgements, so the only way to say "slow
 * down" is TCP flow control. A connection stops reading (pauses its socket)
 * while all syslog connections together hold the shared InFlightBudget (a
 * quarter of the queue's bounds: about one store commit, like the HTTP path's
 * concurrent requests; a connection passes it by at most two batches, so
 * unless very many connections are busy at once the queue never has to
 * refuse TCP syslog), and while a batch the queue refused anyway (full, rate
 * limited, store unavailable) waits to be retried with backoff.
 * The kernel's receive buffer then fills, the window closes, and the sender's
 * own queue (rsyslog's action queue, syslog-ng's disk buffer) holds the rest;
 * nothing received is dropped while the server runs. A broken octet-counting
 * stream cannot be resynchronised: it is closed once what it sent before the
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
}

export interface StreamDeps {
  ingestor: Ingestor;
  metrics: Metrics;
  logger: Logger;
  options: StreamOptions;
  budget: InFlightBudget;
}

/** Records and bytes all connections have on their way into the store, with the connections waiting for room. */
export class InFlightBudget {
  private records = 0;
  private bytes = 0;
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly waiting = new Set<() => void>();

  constructor(maxRecords: number, maxBytes: number) {
    this.maxRecords = maxRecords;
    this.maxBytes = maxBytes;
  }

  get exhausted(): boolean {
    return this.records >= this.maxRecords || this.bytes >= this.maxBytes;
  }

  take(records: number, bytes: number): void {
    this.records += records;
    this.bytes += bytes;
  }

  release(records: number, bytes: number): void {
    this.records -= records;
    this.bytes -= bytes;
    if (this.exhausted || this.waiting.size === 0) return;
    const woken = [...this.waiting];
    this.waiting.clear();
    for (const wake of woken) wake();
  }

  /** Calls `wake` once when room frees up. */
  wait(wake: () => void): void {
    this.waiting.add(wake);
  }

  forget(wake: () => void): void {
    this.waiting.delete(wake);
  }
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
  private readonly wake = () => this.resumeIfIdle();
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
        // Once the socket is paused, the rest of the chunk waits with it (see the 'data' handler).
        frame: (bytes, truncated) => {
          this.batcher.add(bytes, truncated, this.now, this.peer);
          return !socket.isPaused();
        },
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
      this.now = nowNs();
      const read = this.framer.push(chunk);
      ingestor.received(ctx, read);
      // Backpressure took hold mid-chunk: the unread part goes back to the socket's buffer until it resumes.
      if (read < chunk.length && !this.ended) socket.unshift(chunk.subarray(read));
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
        // Quiet because this side stopped reading (backpressure) is not idle.
        if (socket.isPaused() || this.pending.size > 0 || this.retrying > 0) socket.setTimeout(options.idleTimeoutMs);
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
    if (!this.ended || this.pending.size > 0) return;
    this.deps.budget.forget(this.wake);
    this.socket.destroy();
  }

  private store(records: LogRecord[], bytes: number): void {
    const { budget } = this.deps;
    const done = this.submit(records, bytes).finally(() => {
      this.pending.delete(done);
      budget.release(records.length, bytes);
      this.resumeIfIdle();
      this.closeWhenStored();
    });
    this.pending.add(done);
    budget.take(records.length, bytes);
    if (budget.exhausted) this.socket.pause();
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

  /** Reads again unless one of the reasons to wait still holds; a full shared budget wakes this later. */
  private resumeIfIdle(): void {
    if (this.ended || this.retrying > 0) return;
    if (this.deps.budget.exhausted) this.deps.budget.wait(this.wake);
    else this.socket.resume();
  }
}
