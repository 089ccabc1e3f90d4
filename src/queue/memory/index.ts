/**
 * In-process bounded queue.
 *
 * Design note: producers' batches wait in a FIFO with a record and a byte
 * bound; `submit` refuses a batch that would cross either bound (the queue
 * always takes a batch when empty, so one large request cannot be refused
 * forever). The consumer takes several waiting batches at once up to
 * `batch_records` (group commit: many small requests, one store transaction)
 * and runs up to two such commits concurrently so the next batch is prepared
 * while the store writes the previous one; the store applies them in order.
 * Every producer's promise settles with its commit's outcome: nothing is
 * acknowledged before it is durable.
 */
import { QueueFullError, queues, type BatchConsumer, type IngestBatch, type Queue, type QueueContext } from '../queue.ts';
import type { Metrics } from '../../metrics/metrics.ts';

interface Waiting {
  batch: IngestBatch;
  resolve: () => void;
  reject: (err: Error) => void;
}

const MAX_IN_FLIGHT = 2;

export class MemoryQueue implements Queue {
  private readonly items: Waiting[] = [];
  private records = 0;
  private bytes = 0;
  private inFlight = 0;
  private consumer: BatchConsumer | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly batchRecords: number;
  private readonly retryAfter: number;
  private readonly metrics: Metrics | undefined;

  constructor(opts: { maxRecords: number; maxBytes: number; batchRecords: number; retryAfterSeconds: number; metrics?: Metrics }) {
    this.maxRecords = opts.maxRecords;
    this.maxBytes = opts.maxBytes;
    this.batchRecords = opts.batchRecords;
    this.retryAfter = opts.retryAfterSeconds;
    this.metrics = opts.metrics;
  }

  submit(batch: IngestBatch): Promise<void> {
    if (this.closed) return Promise.reject(new QueueFullError('server is shutting down', this.retryAfter));
    if (batch.records.length === 0) return Promise.resolve();
    const busy = this.records > 0;
    if (busy && (this.records + batch.records.length > this.maxRecords || this.bytes + batch.bytes > this.maxBytes)) {
      return Promise.reject(
        new QueueFullError(
          `ingest queue is full (${this.records} records, ${this.bytes} bytes waiting); retry later`,
          this.retryAfter,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.items.push({ batch, resolve, reject });
      this.records += batch.records.length;
      this.bytes += batch.bytes;
      this.report();
      this.pump();
    });
  }

  start(consumer: BatchConsumer): void {
    this.consumer = consumer;
    this.pump();
  }

  depth(): { records: number; bytes: number } {
    return { records: this.records, bytes: this.bytes };
  }

  private report(): void {
    this.metrics?.queueDepth.set(this.records);
    this.metrics?.queueBytes.set(this.bytes);
  }

  private pump(): void {
    while (this.consumer && this.inFlight < MAX_IN_FLIGHT && this.items.length > 0) {
      const taken: Waiting[] = [];
      let n = 0;
      while (this.items.length > 0) {
        const next = this.items[0]!;
        if (taken.length > 0 && n + next.batch.records.length > this.batchRecords) break;
        taken.push(this.items.shift()!);
        n += next.batch.records.length;
      }
      this.inFlight++;
      const consumer = this.consumer;
      consumer(taken.map((w) => w.batch)).then(
        () => this.settle(taken, null),
        (err: unknown) => this.settle(taken, err instanceof Error ? err : new Error(String(err))),
      );
    }
    if (this.inFlight === 0 && this.items.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private settle(taken: Waiting[], err: Error | null): void {
    this.inFlight--;
    for (const w of taken) {
      this.records -= w.batch.records.length;
      this.bytes -= w.batch.bytes;
      if (err) w.reject(err);
      else w.resolve();
    }
    this.report();
    this.pump();
  }

  async drain(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.inFlight === 0 && this.items.length === 0) return;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }
}

export function createMemoryQueue(ctx: QueueContext): MemoryQueue {
  const q = ctx.config.queue;
  return new MemoryQueue({
    maxRecords: q.max_records,
    maxBytes: q.max_bytes,
    batchRecords: q.batch_records,
    retryAfterSeconds: q.retry_after_seconds,
    metrics: ctx.metrics,
  });
}

queues.register('memory', createMemoryQueue);
