/**
 * One forward protocol connection (TCP or TLS).
 *
 * Design note: bytes go through a FrameScanner; at most one unfinished
 * message (≤ max_message_bytes) is buffered. Complete messages are decoded,
 * mapped and submitted in order; while that runs the socket is paused, so the
 * kernel buffers fill and TCP flow control slows the sender. Messages already
 * complete are merged into one submit. An `{ack: chunk}` is written only after
 * the submit resolved, i.e. the records are durable; a full queue or a tenant
 * over its rate makes the connection wait and submit the same records again,
 * never ack early. A message of the wrong shape closes this connection (logged
 * with its reason, counted in log_errors_total); an entry of the wrong shape
 * is counted and skipped. With a handshake the first message must be a PING
 * proving a shared key, which decides the tenant.
 */
import type { Socket } from 'node:net';
import type { LogRecord } from '../../record/record.ts';
import { nowNs } from '../../record/time.ts';
import type { Logger } from '../../util/logger.ts';
import type { IngestContext, Ingestor } from '../ingestor.ts';
import { verifyPing, createHelo, type SharedKey } from './handshake.ts';
import { fitMessage, isFluentBitTelemetry, recordFromFluent, type TagField } from './mapping.ts';
import { FrameError, FrameScanner, packr } from './msgpack.ts';
import { decodeEventMessage, type EventMessage } from './protocol.ts';

export const SOURCE = 'forward';
/** The tenant label of what is refused before anyone is known (as the other sources count it). */
export const UNKNOWN_TENANT = '-';

export interface ConnectionSettings {
  ingestor: Ingestor;
  logger: Logger;
  sharedKeys: readonly SharedKey[];
  selfHostname: string;
  tagField: TagField;
  maxMessageBytes: number;
  maxRecords: number;
  maxLineBytes: number;
  oversize: 'reject' | 'truncate';
  keepRaw: boolean;
  /** Records merged into one submit, at most. */
  batchRecords: number;
  /** Longest wait between retries when the queue is full. */
  retryAfterMs: number;
}

const MAX_DEPTH = 64;

export class ForwardConnection {
  readonly socket: Socket;
  private readonly s: ConnectionSettings;
  private readonly remote: string;
  private readonly scanner: FrameScanner;
  private tenant: string | null;
  /** Set while the handshake is pending: the nonce sent in HELO. */
  private nonce: Buffer | null = null;
  private partial: Buffer[] = [];
  private readonly complete: Buffer[] = [];
  private busy: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private closed = false;
  lastActivity = performance.now();
  messageStartedAt: number | null = null;

  /** `tenant` null: the connection must do the handshake. */
  constructor(socket: Socket, settings: ConnectionSettings, tenant: string | null) {
    this.socket = socket;
    this.s = settings;
    this.tenant = tenant;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.scanner = new FrameScanner({ maxMessageBytes: settings.maxMessageBytes, maxDepth: MAX_DEPTH });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.s.logger.debug({ err, remote: this.remote }, 'forward connection error'));
    socket.on('close', () => this.onClose());
    if (tenant === null) {
      const helo = createHelo();
      this.nonce = helo.nonce;
      socket.write(helo.message);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The work in progress (decoding, storing), if any. */
  get inFlight(): Promise<void> | null {
    return this.busy;
  }

  private ctx(): IngestContext {
    return { source: SOURCE, tenant: this.tenant ?? UNKNOWN_TENANT };
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastActivity = performance.now();
    let ends: number[];
    try {
      ends = this.scanner.scan(chunk);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    let start = 0;
    for (const end of ends) {
      this.partial.push(chunk.subarray(start, end));
      this.complete.push(this.partial.length === 1 ? this.partial[0]! : Buffer.concat(this.partial));
      this.partial = [];
      start = end;
    }
    if (start < chunk.length) this.partial.push(chunk.subarray(start));
    if (!this.scanner.inMessage) this.messageStartedAt = null;
    else if (ends.length > 0 || this.messageStartedAt === null) this.messageStartedAt = this.lastActivity;
    if (this.complete.length > 0 && !this.busy) {
      this.socket.pause();
      this.busy = this.processAll()
        .catch((err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))))
        .finally(() => {
          this.busy = null;
          this.lastActivity = performance.now();
          if (!this.closed) this.socket.resume();
        });
    }
  }

  private async processAll(): Promise<void> {
    while (this.complete.length > 0 && !this.closed) {
      const records: LogRecord[] = [];
      const acks: unknown[] = [];
      let bytes = 0;
      let failure: Error | null = null;
      while (this.complete.length > 0 && records.length < this.s.batchRecords) {
        const frame = this.complete.shift()!;
        if (this.nonce) {
          this.handshake(frame);
          if (this.closed) return;
          continue;
        }
        if (frame[0] === 0xc0) continue; // nil: a keep-alive
        let message: EventMessage;
        try {
          message = await decodeEventMessage(frame, { maxMessageBytes: this.s.maxMessageBytes, maxRecords: this.s.maxRecords });
        } catch (err) {
          failure = err as Error;
          break;
        }
        this.s.ingestor.received(this.ctx(), frame.length);
        bytes += frame.length;
        this.collect(message, records);
        if (message.chunk !== undefined && message.chunk !== null) acks.push(message.chunk);
      }
      if (records.length > 0 && !(await this.store(records, bytes))) return;
      for (const chunk of acks) this.socket.write(packr.pack({ ack: chunk }));
      if (failure) {
        this.fail(failure);
        return;
      }
    }
  }

  private handshake(frame: Buffer): void {
    const result = verifyPing(frame, this.nonce!, this.s.sharedKeys, this.s.selfHostname);
    this.socket.write(result.pong);
    if ('failure' in result) {
      this.s.ingestor.reject(this.ctx(), 'unauthorized');
      this.s.logger.warn({ remote: this.remote, reason: result.failure }, 'forward handshake failed; connection closed');
      this.closed = true;
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
      return;
    }
    this.nonce = null;
    this.tenant = result.tenant;
  }

  private collect(message: EventMessage, out: LogRecord[]): void {
    const ctx = this.ctx();
    const { ingestor } = this.s;
    if (message.signal !== 0) {
      // Fluent Bit forwards metrics (1) and traces (2) the same way; they are not logs.
      ingestor.reject(ctx, 'unsupported_signal', message.events.length + message.invalid);
      return;
    }
    if (message.invalid > 0) {
      ingestor.reject(ctx, 'invalid_record', message.invalid);
      this.s.logger.debug({ remote: this.remote, tenant: this.tenant, skipped: message.skipped[0] }, 'forward entries skipped');
    }
    const mapping = { tenant: this.tenant!, nowNs: nowNs(), tagField: this.s.tagField, keepRaw: this.s.keepRaw };
    for (const event of message.events) {
      if (isFluentBitTelemetry(event.record)) {
        ingestor.reject(ctx, 'unsupported_signal');
        continue;
      }
      const result = recordFromFluent(message.tag, event.time, event.record, event.metadata, mapping);
      if ('error' in result) {
        ingestor.reject(ctx, 'invalid_record');
        continue;
      }
      const record = result.record;
      const fit = fitMessage(record, this.s.maxLineBytes, this.s.oversize);
      if (fit === 'too_long') {
        ingestor.reject(ctx, 'line_too_long');
        continue;
      }
      if (fit === 'truncated') ingestor.reject(ctx, 'truncated');
      const refused = ingestor.admit(record, ctx);
      if (refused) {
        ingestor.reject(ctx, refused);
        continue;
      }
      out.push(record);
    }
  }

  /** Submits until stored; false when the connection closed or the store failed (nothing acked). */
  private async store(records: LogRecord[], bytes: number): Promise<boolean> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.s.ingestor.submit(records, this.ctx(), bytes);
        return true;
      } catch (err) {
        const e = err as Error & { retryAfterSeconds?: number };
        if (e.name !== 'QueueFullError' && e.name !== 'RateLimitedError') {
          this.s.logger.error({ err, remote: this.remote, tenant: this.tenant }, 'forward batch could not be stored; connection closed without ack');
          this.destroy();
          return false;
        }
        const wait = e.name === 'RateLimitedError' ? (e.retryAfterSeconds ?? 1) * 1000 : Math.min(25 * 2 ** attempt, this.s.retryAfterMs);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    }
    return false;
  }

  /** Closes for a protocol error: counted by reason, logged, no response. */
  fail(err: Error): void {
    if (this.closed) return;
    const reason = err instanceof FrameError ? err.reason : 'internal_error';
    this.s.ingestor.reject(this.ctx(), reason);
    const log = err instanceof FrameError ? this.s.logger.warn.bind(this.s.logger) : this.s.logger.error.bind(this.s.logger);
    log({ remote: this.remote, tenant: this.tenant, reason, error: err.message }, 'forward connection closed: bad input');
    this.destroy();
  }

  /** Applies the idle and message timeouts (called by the source's sweeper). */
  checkTimeouts(now: number, idleMs: number, messageMs: number): void {
    if (this.closed || this.busy) return;
    if (this.messageStartedAt !== null && now - this.messageStartedAt > messageMs) {
      this.fail(new FrameError(`a message did not arrive completely within message_timeout (${messageMs} ms)`, 'timeout'));
    } else if (now - this.lastActivity > idleMs) {
      this.s.logger.debug({ remote: this.remote }, 'forward connection idle; closed');
      this.destroy();
    }
  }

  destroy(): void {
    this.closed = true;
    this.wake?.();
    this.socket.destroy();
  }

  private onClose(): void {
    this.closed = true;
    this.wake?.();
    this.partial = [];
    this.complete.length = 0;
  }
}
