/** Messages between the main thread (DuckDBStore) and the store worker (worker.ts). */
import type { ColumnBatch } from '../batch.ts';
import type { AggregateRequest, SearchRequest, WindowAggregateRequest } from '../store.ts';
import type { EngineOptions } from './engine.ts';

export type WorkerRequest =
  | { id: number; op: 'open'; options: Omit<EngineOptions, 'log'> }
  | { id: number; op: 'append'; batch: ColumnBatch }
  | { id: number; op: 'search'; req: Omit<SearchRequest, 'signal'> }
  | { id: number; op: 'aggregate'; req: Omit<AggregateRequest, 'signal'> }
  | { id: number; op: 'windowAggregate'; req: Omit<WindowAggregateRequest, 'signal'> }
  | { id: number; op: 'partitions'; tenant?: string }
  | { id: number; op: 'dropPartition'; tenant: string; day: string }
  | { id: number; op: 'size' }
  | { id: number; op: 'flush' }
  | { id: number; op: 'health' }
  | { id: number; op: 'close' }
  | { id: number; op: 'cancel'; target: number };

export type WorkerResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { name: string; message: string; unavailable: boolean } }
  | { id: -1; log: { level: 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> } };
