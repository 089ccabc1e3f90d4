/**
 * The Ingestor: what every source does the same way. It applies the shared
 * record policy (timestamp window), counts everything (received bytes,
 * rejections by reason, stored records), and submits batches to the queue;
 * its promise settles only when the batch is durable or definitely refused.
 */
import type { LogRecord } from '../record/record.ts';
import type { CairnConfig } from '../config/schema.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Queue } from '../queue/queue.ts';
import { formatRfc3339Nano } from '../record/time.ts';

export interface IngestContext {
  source: string;
  tenant: string;
}

/** The tenant label of refusals counted before a caller has a tenant (failed authentication, a refused connection). */
export const UNKNOWN_TENANT = '-';

/** Rejection reasons, as they appear in log_errors_total{reason}. */
export type RejectReason =
  | 'invalid_json'
  | 'invalid_record'
  | 'line_too_long'
  | 'timestamp_out_of_range'
  | 'queue_full'
  | 'store_unavailable'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'corrupt_body'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'truncated'
  | (string & {});

export class RateLimitedError extends Error {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.name = 'RateLimitedError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Token bucket per tenant: `rate` records/s, at most `burst` at once. */
class TenantBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly rate: number;
  private readonly burst: number;
  constructor(rate: number, burst: number) {
    this.rate = rate;
    this.burst = burst > 0 ? burst : rate;
  }
  /** Takes n tokens, or returns the seconds until they would be there. */
  take(tenant: string, n: number, now = performance.now()): number {
    let b = this.buckets.get(tenant);
    if (!b) this.buckets.set(tenant, (b = { tokens: this.burst, at: now }));
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    // A batch larger than the burst may pass when the bucket is full, else it could never pass.
    const need = Math.min(n, this.burst);
    if (b.tokens >= need) {
      b.tokens -= n;
      return 0;
    }
    return Math.max(1, Math.ceil((need - b.tokens) / this.rate));
  }
}

export class Ingestor {
  private readonly buckets: TenantBuckets | null;
  private readonly queue: Queue;
  private readonly metrics: Metrics;
  private readonly maxFutureNs: bigint;
  private readonly maxPastNs: bigint;
  private readonly timestampAction: 'reject' | 'clamp';

  constructor(config: CairnConfig, queue: Queue, metrics: Metrics) {
    this.queue = queue;
    this.metrics = metrics;
    this.maxFutureNs = BigInt(Math.round(config.ingest.max_future)) * 1_000_000n;
    this.maxPastNs = BigInt(Math.round(config.ingest.max_past)) * 1_000_000n;
    this.timestampAction = config.ingest.timestamp_action;
    this.buckets = config.ingest.tenant_rate_limit > 0 ? new TenantBuckets(config.ingest.tenant_rate_limit, config.ingest.tenant_burst) : null;
  }

  received(ctx: IngestContext, bytes: number): void {
    this.metrics.receivedBytes.inc({ source: ctx.source, tenant: ctx.tenant }, bytes);
  }

  reject(ctx: IngestContext, reason: RejectReason, count = 1): void {
    if (count > 0) this.metrics.errors.inc({ source: ctx.source, tenant: ctx.tenant, reason }, count);
  }

  /**
   * Applies the timestamp window to a record. Returns a rejection reason, or
   * null when the record may be stored (possibly with its ts clamped).
   */
  admit(record: LogRecord, ctx: IngestContext): RejectReason | null {
    const ts = record.ts;
    const now = record.observed_ts;
    const tooNew = ts > now + this.maxFutureNs;
    const tooOld = ts < 0n || (this.maxPastNs > 0n && ts < now - this.maxPastNs);
    if (!tooNew && !tooOld) return null;
    if (this.timestampAction === 'reject') return 'timestamp_out_of_range';
    record.attrs.original_ts = ts >= 0n ? formatRfc3339Nano(ts) : ts.toString();
    record.ts = now;
    this.metrics.clamped.inc({ source: ctx.source, tenant: ctx.tenant });
    return null;
  }

  /**
   * Queues records; resolves once they are durable. Throws RateLimitedError
   * (the tenant is over its rate), QueueFullError or StoreUnavailableError;
   * sources turn these into their protocol's way of saying "later".
   */
  async submit(records: LogRecord[], ctx: IngestContext, bytes: number): Promise<void> {
    if (records.length === 0) return;
    try {
      await this.enqueue(records, ctx, bytes);
    } catch (err) {
      this.countRefusal(err, ctx, records.length);
      throw err;
    }
  }

  /**
   * Like submit, but for streaming protocols whose way of saying "later" is
   * to stop reading (the sender blocks on TCP): while the tenant is over its
   * rate or the queue is full, waits and tries again for up to `maxWaitMs`,
   * then throws as submit does. Only the final refusal is counted.
   */
  async submitWaiting(records: LogRecord[], ctx: IngestContext, bytes: number, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    if (records.length === 0) return;
    const deadline = performance.now() + maxWaitMs;
    for (;;) {
      try {
        await this.enqueue(records, ctx, bytes);
        return;
      } catch (err) {
        const retryAfter = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
        const waitMs = retryAfter === undefined ? Infinity : Math.min(retryAfter * 1000, 1000);
        if (signal?.aborted || performance.now() + waitMs > deadline) {
          this.countRefusal(err, ctx, records.length);
          throw err;
        }
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  private async enqueue(records: LogRecord[], ctx: IngestContext, bytes: number): Promise<void> {
    if (this.buckets) {
      const wait = this.buckets.take(ctx.tenant, records.length);
      if (wait > 0) {
        throw new RateLimitedError(`tenant "${ctx.tenant}" is over its rate limit (ingest.tenant_rate_limit); retry in ${wait}s`, wait);
      }
    }
    await this.queue.submit({ records, bytes, source: ctx.source, tenant: ctx.tenant });
  }

  private countRefusal(err: unknown, ctx: IngestContext, count: number): void {
    const name = (err as Error).name;
    const reason = name === 'RateLimitedError' ? 'rate_limited' : name === 'QueueFullError' ? 'queue_full' : 'store_unavailable';
    this.reject(ctx, reason, count);
  }
}
