/**
 * The store worker: owns the DuckDB instance so that appends (synchronous
 * Appender calls) and compaction never stall the main thread's event loop.
 */
import { parentPort } from 'node:worker_threads';
import { DuckDBEngine } from './engine.ts';
import type { WorkerRequest, WorkerResponse } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

let engine: DuckDBEngine | null = null;

function reply(msg: WorkerResponse): void {
  port!.postMessage(msg);
}

async function handle(msg: WorkerRequest): Promise<unknown> {
  if (msg.op === 'open') {
    engine = new DuckDBEngine({
      ...msg.options,
      log: (level, text, fields) => reply({ id: -1, log: { level, msg: text, fields } }),
    });
    await engine.open();
    return null;
  }
  if (!engine) throw new Error('store is not open');
  switch (msg.op) {
    case 'append':
      return engine.append(msg.batch);
    case 'search':
      return engine.search(msg.id, msg.req);
    case 'aggregate':
      return engine.aggregate(msg.id, msg.req);
    case 'windowAggregate':
      return engine.windowAggregate(msg.id, msg.req);
    case 'partitions':
      return engine.partitions(msg.tenant);
    case 'dropPartition':
      return engine.dropPartition(msg.tenant, msg.day);
    case 'size':
      return engine.size();
    case 'flush':
      return engine.flush();
    case 'health':
      return { failure: engine.failed?.message ?? null };
    case 'close':
      await engine.close();
      engine = null;
      return null;
    case 'cancel':
      // Only requests still in flight: a late cancel must not linger.
      if (inflight.has(msg.target)) engine.cancel(msg.target);
      return null;
  }
}

/** Ids of requests being handled, so a cancel can tell a live one from a finished one. */
const inflight = new Set<number>();

port.on('message', (msg: WorkerRequest) => {
  if (msg.op !== 'cancel') inflight.add(msg.id);
  handle(msg)
    .finally(() => {
      inflight.delete(msg.id);
      engine?.finished(msg.id);
    })
    .then(
      (result) => {
        if (msg.op !== 'cancel') reply({ id: msg.id, ok: true, result });
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        reply({
          id: msg.id,
          ok: false,
          error: { name: e.name, message: e.message, unavailable: engine?.failed !== null && engine?.failed !== undefined },
        });
      },
    );
});
