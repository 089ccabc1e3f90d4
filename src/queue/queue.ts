/**
 * The queue between ingest and the store: bounded, so memory never grows
 * without limit; a full queue refuses new batches at once (senders get 429 with
 * Retry-After) instead of making them wait on an unbounded buffer. The
 * in-process queue is the default; a Kafka queue implements the same interface.
 */
import type { LogRecord } from '../record/record.ts';
import type { CairnConfig } from '../config/schema.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { Registry } from '../registry.ts';

export interface IngestBatch {
  records: LogRecord[];
  /** Approximate bytes the records hold (for the byte bound). */
  bytes: number;
  source: string;
  tenant: string;
}

/** Takes batches from the queue to the store; resolves when they are durable. */
export type BatchConsumer = (batches: IngestBatch[]) => Promise<void>;

export class QueueFullError extends Error {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.name = 'QueueFullError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface Queue {
  /** Enqueues a batch; resolves once it is durable in the store, rejects if it could not be stored. */
  submit(batch: IngestBatch): Promise<void>;
  start(consumer: BatchConsumer): void;
  depth(): { records: number; bytes: number };
  /** Stops taking new batches and waits (up to timeoutMs) for queued ones to be stored. */
  drain(timeoutMs: number): Promise<void>;
}

export interface QueueContext {
  config: CairnConfig;
  metrics: Metrics;
}

export type QueueFactory = (ctx: QueueContext) => Queue;
export const queues = new Registry<QueueFactory>('queue');
