/**
 * Ships the disk buffer to the server over the agent stream.
 *
 * Design note: chunks are read from the buffer in order and become batches
 * (ids from the clock in µs at start, then +1, so a restarted agent never
 * reuses an id the server may remember); at most maxInFlight are
 * unacknowledged. A batch stays in memory until its ack: STORED or
 * DUPLICATE acknowledge its records in the buffer (the rejected ones too:
 * they can never be stored), RETRY resends it after retry_after_ms with the
 * same id. When the stream breaks, every unacknowledged batch is resent on
 * the next stream, in order, with its id; the server answers a batch it
 * already stored DUPLICATE, and drops records it stored by their seq, so a
 * resend never shows twice. Reconnects back off exponentially with jitter,
 * and the token is read anew for each stream (a renewed JWT applies).
 */
import * as grpc from '@grpc/grpc-js';
import { protoType } from '../../sources/grpc/proto.ts';
import type { Logger } from '../../util/logger.ts';
import type { DiskBuffer, ReadChunk } from '../buffer/buffer.ts';
import type { AgentMetrics } from '../metrics.ts';
import { callMetadata, type Ack, type AgentClient, type Identity } from './client.ts';

const AgentStatus = protoType('cairn.agent.v1.AgentStatus');

export interface ShipperOptions {
  client: AgentClient;
  buffer: DiskBuffer;
  identity: () => Identity;
  batchRecords: number;
  batchBytes: number;
  maxInFlight: number;
  heartbeatMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** What the agent reports besides its buffer. */
  status: () => { droppedRecords: number; configVersion: number; configError: string };
  metrics: AgentMetrics;
  logger: Logger;
}

interface Batch {
  id: number;
  lo: number;
  hi: number;
  count: number;
  /** Field 1 (id) and field 2 (records) of the RecordBatch, encoded. */
  body: Buffer;
  /** A RETRY timer is pending. */
  retrying: NodeJS.Timeout | null;
  sends: number;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 128) {
    buf[at++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

/** Room left after a batch body for its status (field 3), so a send needs no copy. */
const STATUS_ROOM = 128;

/** A RecordBatch's id and records: each buffered Record gets its seq (field 15) appended. Has STATUS_ROOM spare bytes at the end. */
export function encodeBatchBody(id: number, chunk: ReadChunk): Buffer {
  const { data, seqs, starts, ends } = chunk;
  let size = 1 + varintSize(id);
  for (let i = 0; i < seqs.length; i++) {
    const len = ends[i]! - starts[i]! + 1 + varintSize(seqs[i]!);
    size += 1 + varintSize(len) + len;
  }
  const buf = Buffer.allocUnsafe(size + STATUS_ROOM).subarray(0, size);
  buf[0] = 0x08;
  let at = writeVarint(buf, 1, id);
  for (let i = 0; i < seqs.length; i++) {
    const seq = seqs[i]!;
    buf[at++] = 0x12;
    at = writeVarint(buf, at, ends[i]! - starts[i]! + 1 + varintSize(seq));
    at += data.copy(buf, at, starts[i], ends[i]);
    buf[at++] = 0x78; // field 15, varint
    at = writeVarint(buf, at, seq);
  }
  return buf;
}

export class Shipper {
  private readonly opts: ShipperOptions;
  private readonly inFlight = new Map<number, Batch>();
  private nextId = Date.now() * 1000;
  private stream: grpc.ClientDuplexStream<Buffer, Ack> | null = null;
  private running = false;
  private backoff: number;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private slotWaiters: (() => void)[] = [];
  private feeding: Promise<void> | null = null;
  private streams = 0;
  /** An ack arrived on the current stream (it is really up). */
  private confirmed = false;
  lastError = '';

  constructor(opts: ShipperOptions) {
    this.opts = opts;
    this.backoff = opts.reconnectMinMs;
  }

  get connected(): boolean {
    return this.stream !== null && this.confirmed;
  }

  get inFlightBatches(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
    this.feeding = this.feed();
    this.heartbeat = setInterval(() => this.sendHeartbeat(), this.opts.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Reads the buffer into batches while there is room in flight. */
  private async feed(): Promise<void> {
    const { buffer, batchRecords, batchBytes, maxInFlight } = this.opts;
    while (this.running) {
      if (this.inFlight.size >= maxInFlight) {
        await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
        continue;
      }
      const chunk = await buffer.read(batchRecords, batchBytes);
      if (!chunk || !this.running) return;
      const id = this.nextId++;
      const batch: Batch = { id, lo: chunk.lo, hi: chunk.hi, count: chunk.count, body: encodeBatchBody(id, chunk), retrying: null, sends: 0 };
      this.inFlight.set(id, batch);
      this.send(batch);
    }
  }

  /**
   * The batch with the current status after it: on its first send written into
   * the body's spare room (no copy); a resend copies, since the first message
   * may still be queued in the HTTP/2 stream.
   */
  private message(batch: Batch): Buffer {
    const body = batch.body;
    const status = this.statusBytes();
    if (batch.sends++ > 0 || status.length > STATUS_ROOM) return Buffer.concat([body, status]);
    const whole = Buffer.from(body.buffer, body.byteOffset, body.length + status.length);
    status.copy(whole, body.length);
    return whole;
  }

  private statusBytes(): Buffer {
    const s = this.opts.buffer.stats();
    const extra = this.opts.status();
    const status = AgentStatus.encode({
      backlogRecords: s.unackedRecords,
      backlogBytes: s.bytes,
      lagMs: s.oldestUnackedMs,
      droppedRecords: extra.droppedRecords,
      configVersion: extra.configVersion,
      configError: extra.configError,
    }).finish();
    const head = Buffer.allocUnsafe(1 + varintSize(status.length));
    head[0] = 0x1a; // field 3, length-delimited
    writeVarint(head, 1, status.length);
    return Buffer.concat([head, status]);
  }

  private send(batch: Batch): void {
    if (!this.stream || batch.retrying) return;
    this.stream.write(this.message(batch));
  }

  private sendHeartbeat(): void {
    if (!this.stream) return;
    // batch_id 0, no records: the status alone.
    this.stream.write(Buffer.concat([Buffer.from([0x08, 0x00]), this.statusBytes()]));
  }

  private connect(): void {
    if (!this.running) return;
    this.reconnectTimer = null;
    if (this.streams++ > 0) this.opts.metrics.reconnects.inc();
    let call: grpc.ClientDuplexStream<Buffer, Ack>;
    try {
      call = this.opts.client.Stream(callMetadata(this.opts.identity()));
    } catch (err) {
      this.lost(null, (err as Error).message);
      return;
    }
    this.stream = call;
    this.confirmed = false;
    call.on('data', (ack: Ack) => this.onAck(call, ack));
    call.on('error', (err: grpc.ServiceError) => this.lost(call, `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`));
    call.on('end', () => this.lost(call, 'the server ended the stream'));
    // Unacknowledged batches first, in order, with their ids.
    for (const b of [...this.inFlight.values()].sort((x, y) => x.id - y.id)) this.send(b);
    this.sendHeartbeat();
  }

  private lost(call: grpc.ClientDuplexStream<Buffer, Ack> | null, reason: string): void {
    if (call && call !== this.stream) return;
    this.stream = null;
    this.confirmed = false;
    this.opts.metrics.connected.set(0);
    call?.removeAllListeners('data');
    call?.on('error', () => undefined);
    call?.cancel();
    if (!this.running) return;
    let pending = 0;
    for (const b of this.inFlight.values()) pending += b.count;
    if (pending > 0) this.opts.metrics.failed.inc({ reason: 'disconnected' }, pending);
    if (reason !== this.lastError) this.opts.logger.warn({ reason, retry_in_ms: this.backoff }, 'agent stream lost; reconnecting');
    this.lastError = reason;
    const wait = this.backoff * (0.8 + Math.random() * 0.4);
    this.backoff = Math.min(this.backoff * 2, this.opts.reconnectMaxMs);
    this.reconnectTimer = setTimeout(() => this.connect(), wait);
  }

  private onAck(call: grpc.ClientDuplexStream<Buffer, Ack>, ack: Ack): void {
    if (call !== this.stream) return;
    if (!this.confirmed) {
      this.confirmed = true;
      this.backoff = this.opts.reconnectMinMs;
      this.opts.metrics.connected.set(1);
      if (this.lastError) this.opts.logger.info('agent stream connected');
      this.lastError = '';
    }
    const { metrics, logger, buffer } = this.opts;
    metrics.acks.inc({ status: ack.status.replace('ACK_STATUS_', '').toLowerCase() });
    const batch = this.inFlight.get(Number(ack.batchId));
    if (!batch) return;
    if (ack.status === 'ACK_STATUS_RETRY') {
      metrics.failed.inc({ reason: 'retry' }, batch.count);
      if (batch.retrying) return;
      batch.retrying = setTimeout(() => {
        batch.retrying = null;
        if (this.inFlight.has(batch.id)) this.send(batch);
      }, Math.max(100, ack.retryAfterMs));
      return;
    }
    if (ack.status === 'ACK_STATUS_DUPLICATE') metrics.duplicates.inc(batch.count);
    else {
      metrics.sent.inc(ack.accepted);
      if (ack.duplicates > 0) metrics.duplicates.inc(ack.duplicates);
      if (ack.rejected > 0) {
        metrics.failed.inc({ reason: 'rejected' }, ack.rejected);
        logger.warn({ batch: ack.batchId, rejected: ack.rejected, errors: ack.errors.slice(0, 5) }, 'the server rejected records');
      }
    }
    this.inFlight.delete(batch.id);
    buffer.ack(batch.lo, batch.hi);
    for (const w of this.slotWaiters.splice(0)) w();
  }

  /**
   * Stops: waits up to graceMs for the batches in flight to be acknowledged
   * (what is not will be resent after the next start), then closes the stream.
   */
  async stop(graceMs = 5000): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.inFlight.size > 0 && this.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.running = false;
    for (const w of this.slotWaiters.splice(0)) w();
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const b of this.inFlight.values()) if (b.retrying) clearTimeout(b.retrying);
    const call = this.stream;
    this.stream = null;
    if (call) {
      call.removeAllListeners();
      call.on('error', () => undefined);
      call.end();
      call.cancel();
    }
    this.opts.metrics.connected.set(0);
  }
}
