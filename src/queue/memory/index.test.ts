import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryQueue } from './index.ts';
import { QueueFullError, type IngestBatch } from '../queue.ts';
import { newRecord } from '../../record/record.ts';

function batch(n: number): IngestBatch {
  return { records: Array.from({ length: n }, (_, i) => newRecord({ message: `m${i}` }, 0n)), bytes: n * 10, source: 't', tenant: 't' };
}

test('a batch is acknowledged only after the consumer stored it', async () => {
  const q = new MemoryQueue({ maxRecords: 100, maxBytes: 1e6, batchRecords: 50, retryAfterSeconds: 1 });
  let release!: () => void;
  const stored: number[] = [];
  q.start(async (batches) => {
    await new Promise<void>((r) => (release = r));
    for (const b of batches) stored.push(b.records.length);
  });
  let acked = false;
  const p = q.submit(batch(10)).then(() => (acked = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(acked, false);
  release();
  await p;
  assert.deepEqual(stored, [10]);
});

test('a full queue refuses at once with Retry-After, and never grows past its bound', async () => {
  const q = new MemoryQueue({ maxRecords: 30, maxBytes: 1e6, batchRecords: 10, retryAfterSeconds: 7 });
  const gates: (() => void)[] = [];
  q.start(() => new Promise<void>((r) => gates.push(r)));
  const accepted = [q.submit(batch(10)), q.submit(batch(10)), q.submit(batch(10))];
  await assert.rejects(q.submit(batch(10)), (err: unknown) => err instanceof QueueFullError && err.retryAfterSeconds === 7);
  assert.ok(q.depth().records <= 30);
  let done = false;
  const all = Promise.all(accepted).then(() => (done = true));
  while (!done) {
    gates.splice(0).forEach((g) => g());
    await new Promise((r) => setImmediate(r));
  }
  await all;
  assert.equal(q.depth().records, 0);
});

test('waiting batches are merged into one commit up to batch_records', async () => {
  const q = new MemoryQueue({ maxRecords: 1000, maxBytes: 1e6, batchRecords: 25, retryAfterSeconds: 1 });
  const commits: number[] = [];
  const pending = [q.submit(batch(10)), q.submit(batch(10)), q.submit(batch(10)), q.submit(batch(10))];
  q.start(async (batches) => {
    commits.push(batches.reduce((a, b) => a + b.records.length, 0));
  });
  await Promise.all(pending);
  assert.deepEqual(commits, [20, 20]);
});

test('a failed commit rejects exactly the batches in it', async () => {
  const q = new MemoryQueue({ maxRecords: 1000, maxBytes: 1e6, batchRecords: 10, retryAfterSeconds: 1 });
  let n = 0;
  q.start(async () => {
    if (n++ === 0) throw new Error('disk full');
  });
  const results = await Promise.allSettled([q.submit(batch(10)), q.submit(batch(10))]);
  assert.equal(results[0].status, 'rejected');
  assert.equal(results[1].status, 'fulfilled');
});
