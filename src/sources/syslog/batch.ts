/**
 * Frames → records, gathered into batches for the Ingestor.
 *
 * Design note: one batcher per TCP/TLS connection and one per UDP listener.
 * Each frame is parsed, normalized, given the listener's tenant and, when the
 * message names no host, the sender's address, then checked against the
 * timestamp window. A batch is handed to `store` when it holds batch_records
 * or batch_linger_ms after its first record, so a quiet sender still sees its
 * lines stored promptly and a busy one costs one queue submit per batch.
 */
import type { LogRecord, Os } from '../../record/record.ts';
import { normalizeSyslog } from '../../record/normalize/syslog.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import type { IngestContext, Ingestor } from '../ingestor.ts';
import { parseSyslog } from './parse.ts';

export interface BatchOptions {
  os: Os;
  keepRaw: boolean;
  batchRecords: number;
  lingerMs: number;
}

export type StoreBatch = (records: LogRecord[], bytes: number) => void;

export class RecordBatcher {
  private records: LogRecord[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly ingestor: Ingestor;
  private readonly metrics: Metrics;
  private readonly ctx: IngestContext;
  private readonly options: BatchOptions;
  private readonly store: StoreBatch;

  constructor(ingestor: Ingestor, metrics: Metrics, ctx: IngestContext, options: BatchOptions, store: StoreBatch) {
    this.ingestor = ingestor;
    this.metrics = metrics;
    this.ctx = ctx;
    this.options = options;
    this.store = store;
  }

  get size(): number {
    return this.records.length;
  }

  /** One message; `peer` is the sender's address, the host of messages that name none. */
  add(frame: Buffer, truncated: boolean, nowNs: bigint, peer: string): void {
    const text = frame.toString('utf8');
    const msg = parseSyslog(text, nowNs);
    if (this.options.keepRaw && !truncated) msg.raw = text;
    const record = normalizeSyslog(msg, nowNs, { os: this.options.os, keepRaw: this.options.keepRaw });
    record.tenant = this.ctx.tenant;
    if (record.host === '') record.host = peer;
    if (truncated) {
      record.attrs.truncated = true;
      this.ingestor.reject(this.ctx, 'truncated');
    }
    if (msg.parseError) this.metrics.unparsed.inc({ source: this.ctx.source, tenant: this.ctx.tenant });
    const refused = this.ingestor.admit(record, this.ctx);
    if (refused) {
      this.ingestor.reject(this.ctx, refused);
      return;
    }
    this.records.push(record);
    this.bytes += frame.length;
    if (this.records.length >= this.options.batchRecords) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.lingerMs);
  }

  /** Hands the current batch to `store` now (at the linger deadline, when full, or at the end). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.records.length === 0) return;
    const records = this.records;
    const bytes = this.bytes;
    this.records = [];
    this.bytes = 0;
    this.store(records, bytes);
  }
}

/** The address as people read it: IPv4-mapped IPv6 addresses lose their prefix. */
export function peerAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
