/**
 * The Store interface: what the server needs from any backend (embedded DuckDB
 * now, OpenSearch later). Queries arrive as the AST, never as backend text.
 */
import type { Expr, FieldRef } from '../query/ast.ts';
import type { LogRecord } from '../record/record.ts';
import type { CairnConfig } from '../config/schema.ts';
import type { Logger } from '../util/logger.ts';
import { Registry } from '../registry.ts';
import type { ColumnBatch } from './batch.ts';

export interface RangeRequest {
  tenant: string;
  where: Expr;
  /** Inclusive bounds, ns. */
  fromNs: bigint;
  toNs: bigint;
  /** Cancels the query (client went away, timeout). */
  signal?: AbortSignal;
}

export interface SearchRequest extends RangeRequest {
  limit: number;
  order: 'asc' | 'desc';
}

export type Measure =
  | { fn: 'count' }
  | { fn: 'count_distinct'; field: FieldRef }
  | { fn: 'sum' | 'avg' | 'min' | 'max'; field: FieldRef }
  | { fn: 'quantile'; field: FieldRef; q: number }
  | { fn: 'bytes' };

export interface AggregateRequest extends RangeRequest {
  /** Bucket width in ns; buckets are aligned to the epoch. Absent: one bucket for the range. */
  stepNs?: bigint;
  groupBy: FieldRef[];
  measures: Measure[];
  /** Keep only the top N groups by count (with groupBy). */
  groupLimit?: number;
}

export interface AggregateRow {
  /** Bucket start, ns (absent without stepNs). */
  bucketNs?: bigint;
  group: (string | null)[];
  values: (number | null)[];
}

/**
 * Sliding windows, as LogQL range vectors evaluate: at each step
 * t = startNs + i * stepNs (0 <= i < steps), the records with ts in
 * (t - rangeNs, t], counted or their message bytes summed, per group.
 */
export interface WindowAggregateRequest {
  tenant: string;
  where: Expr;
  startNs: bigint;
  stepNs: bigint;
  steps: number;
  rangeNs: bigint;
  groupBy: FieldRef[];
  measure: 'count' | 'bytes';
  /** At most this many rows plus one are returned, so the caller can tell "too many". */
  rowLimit: number;
  signal?: AbortSignal;
}

export interface WindowAggregateRow {
  step: number;
  group: (string | null)[];
  value: number;
}

export interface PartitionInfo {
  tenant: string;
  day: string;
  segments: number;
  rows: number;
  bytes: number;
  minTsNs: bigint;
  maxTsNs: bigint;
}

export interface StoreSize {
  /** Everything on disk. */
  bytes: number;
  segmentBytes: number;
  segmentRows: number;
  /** Rows not yet compacted. */
  headRows: number;
  /** Database files (manifest, heads) and their WALs. */
  databaseBytes: number;
  /** Memory the store's engine holds (DuckDB's buffer manager), when it can tell. */
  memoryBytes: number;
}

export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

export class QueryInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryInputError';
  }
}

export interface Store {
  readonly name: string;
  open(): Promise<void>;
  /** Resolves only when every record of the batch is durable. */
  append(batch: ColumnBatch): Promise<void>;
  search(req: SearchRequest): Promise<LogRecord[]>;
  aggregate(req: AggregateRequest): Promise<AggregateRow[]>;
  windowAggregate(req: WindowAggregateRequest): Promise<WindowAggregateRow[]>;
  partitions(tenant?: string): Promise<PartitionInfo[]>;
  /** Deletes a tenant's day; returns the rows removed. */
  dropPartition(tenant: string, day: string): Promise<number>;
  size(): Promise<StoreSize>;
  /** Why the store cannot take writes now, or null when it can. */
  health(): Promise<{ failure: string | null }>;
  /** Seals the head and compacts it now (tests, shutdown, benchmarks). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreContext {
  config: CairnConfig;
  logger: Logger;
}

export type StoreFactory = (ctx: StoreContext) => Store;
export const stores = new Registry<StoreFactory>('store');
