/**
 * The embedded store: DuckDB head tables plus Parquet segments (see engine.ts
 * for the design). This main-thread side forwards calls to the store worker.
 */
import { Worker } from 'node:worker_threads';
import { join, resolve } from 'node:path';
import type { ColumnBatch } from '../batch.ts';
import { transferList } from '../batch.ts';
import {
  QueryInputError,
  StoreUnavailableError,
  stores,
  type AggregateRequest,
  type AggregateRow,
  type PartitionInfo,
  type SearchRequest,
  type Store,
  type StoreContext,
  type StoreSize,
  type WindowAggregateRequest,
  type WindowAggregateRow,
} from '../store.ts';
import type { LogRecord } from '../../record/record.ts';
import type { EngineOptions } from './engine.ts';
import type { WorkerRequest, WorkerResponse } from './protocol.ts';
import type { Logger } from '../../util/logger.ts';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class QueryCancelledError extends Error {
  constructor(message = 'query cancelled') {
    super(message);
    this.name = 'QueryCancelledError';
  }
}

export class DuckDBStore implements Store {
  readonly name = 'duckdb';
  private readonly options: Omit<EngineOptions, 'log'>;
  private readonly logger: Logger;
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: Error | null = null;

  constructor(options: Omit<EngineOptions, 'log'>, logger: Logger) {
    this.options = options;
    this.logger = logger;
  }

  async open(): Promise<void> {
    const worker = new Worker(new URL('./worker.ts', import.meta.url));
    this.worker = worker;
    worker.on('message', (msg: WorkerResponse) => this.onMessage(msg));
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => {
      if (this.worker) this.failAll(new Error(`store worker exited with code ${code}`));
    });
    await this.call({ op: 'open', options: this.options });
  }

  private onMessage(msg: WorkerResponse): void {
    if ('log' in msg) {
      const { level, msg: text, fields } = msg.log;
      this.logger[level]({ component: 'store', ...fields }, text);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if ('result' in msg) p.resolve(msg.result);
    else p.reject(translateError(msg.error));
  }

  private failAll(err: Error): void {
    this.dead = err;
    this.logger.error({ component: 'store', err: err.message }, 'store worker stopped');
    for (const p of this.pending.values()) p.reject(new StoreUnavailableError(`store unavailable: ${err.message}`));
    this.pending.clear();
  }

  private call<T>(body: RequestBody, transfer: ArrayBuffer[] = [], signal?: AbortSignal): Promise<T> {
    if (this.dead) return Promise.reject(new StoreUnavailableError(`store unavailable: ${this.dead.message}`));
    if (!this.worker) return Promise.reject(new StoreUnavailableError('store is not open'));
    if (signal?.aborted) return Promise.reject(new QueryCancelledError(String(signal.reason ?? 'query cancelled')));
    const id = this.nextId++;
    const worker = this.worker;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (signal) {
        const onAbort = () => worker.postMessage({ id: this.nextId++, op: 'cancel', target: id });
        signal.addEventListener('abort', onAbort, { once: true });
        const done = () => signal.removeEventListener('abort', onAbort);
        this.pending.set(id, {
          resolve: (v) => {
            done();
            resolve(v as T);
          },
          reject: (e) => {
            done();
            reject(signal.aborted ? new QueryCancelledError(String(signal.reason ?? 'query cancelled')) : e);
          },
        });
      }
      worker.postMessage({ id, ...body }, transfer);
    });
  }

  append(batch: ColumnBatch): Promise<void> {
    return this.call({ op: 'append', batch }, transferList(batch));
  }

  search(req: SearchRequest): Promise<LogRecord[]> {
    const { signal, ...rest } = req;
    return this.call({ op: 'search', req: rest }, [], signal);
  }

  aggregate(req: AggregateRequest): Promise<AggregateRow[]> {
    const { signal, ...rest } = req;
    return this.call({ op: 'aggregate', req: rest }, [], signal);
  }

  windowAggregate(req: WindowAggregateRequest): Promise<WindowAggregateRow[]> {
    const { signal, ...rest } = req;
    return this.call({ op: 'windowAggregate', req: rest }, [], signal);
  }

  partitions(tenant?: string): Promise<PartitionInfo[]> {
    return this.call({ op: 'partitions', tenant });
  }

  dropPartition(tenant: string, day: string): Promise<number> {
    return this.call({ op: 'dropPartition', tenant, day });
  }

  size(): Promise<StoreSize> {
    return this.call({ op: 'size' });
  }

  health(): Promise<{ failure: string | null }> {
    if (this.dead) return Promise.resolve({ failure: this.dead.message });
    return this.call({ op: 'health' });
  }

  flush(): Promise<void> {
    return this.call({ op: 'flush' });
  }

  async close(): Promise<void> {
    if (!this.worker) return;
    try {
      if (!this.dead) await this.call({ op: 'close' });
    } finally {
      const w = this.worker;
      this.worker = null;
      await w.terminate();
      // Requests still waiting (a query racing shutdown) get an answer instead of hanging.
      for (const p of this.pending.values()) p.reject(new StoreUnavailableError('store closed'));
      this.pending.clear();
    }
  }
}

function translateError(e: { name: string; message: string; unavailable: boolean }): Error {
  if (e.unavailable) return new StoreUnavailableError(e.message);
  if (/INTERRUPT/i.test(e.message)) return new QueryCancelledError();
  // DuckDB's own words for bad user input (an invalid regex, a bad JSON path).
  if (/^(Invalid Input Error|Conversion Error|Binder Error: .*regex)/.test(e.message)) {
    return new QueryInputError(e.message.split('\n')[0]!);
  }
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

export function createDuckDBStore(ctx: StoreContext): DuckDBStore {
  const c = ctx.config.store.duckdb;
  return new DuckDBStore(
    {
      dir: resolve(join(ctx.config.server.data_dir, 'store')),
      memoryLimitBytes: c.memory_limit,
      threads: c.threads,
      headMaxRows: c.head_max_rows,
      headMaxAgeMs: c.head_max_age,
      zstdLevel: c.segment_zstd_level,
      rowGroupRows: c.segment_row_group_rows,
      mergeMaxRows: c.merge_max_rows,
      mergeMinSegments: c.merge_min_segments,
    },
    ctx.logger,
  );
}

stores.register('duckdb', createDuckDBStore);
