/**
 * kill -9 during ingest (and, with a tiny head, during compaction and merges):
 * after a restart every acknowledged record is there exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { json, startChildServer, tempDir } from './helpers/server.ts';

const PER_BATCH = 400;
const ENV = {
  // Seal a head every ~2000 rows and merge every 3 segments, so kills land inside compactions too.
  CAIRN_STORE__DUCKDB__HEAD_MAX_ROWS: '2000',
  CAIRN_STORE__DUCKDB__MERGE_MIN_SEGMENTS: '3',
};

async function countsByBatch(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/api/v1/fields/batch/values?from=2020-01-01T00:00:00Z&to=now%2B1h&limit=10000`);
  assert.equal(res.status, 200);
  const body = (await json(res)) as { values: { value: string; count: number }[] };
  return new Map(body.values.map((v) => [v.value, v.count]));
}

test('every acknowledged batch survives kill -9, exactly once', { timeout: 240_000 }, async () => {
  const dir = tempDir('cairn-crash-');
  const acked = new Set<string>();
  let nextBatch = 0;
  try {
    for (let round = 0; round < 3; round++) {
      const server = await startChildServer(dir, [], ENV);
      let stop = false;
      const writer = async () => {
        while (!stop) {
          const id = `b${nextBatch++}`;
          const body = Array.from({ length: PER_BATCH }, (_, i) => JSON.stringify({ message: `crash test ${id} line ${i}`, batch: id, i })).join('\n');
          try {
            const res = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
            if (res.status === 200) {
              const r = (await json(res)) as { accepted: number };
              assert.equal(r.accepted, PER_BATCH);
              acked.add(id);
            } else await res.body?.cancel();
          } catch {
            return; // the server is gone
          }
        }
      };
      const writers = Array.from({ length: 4 }, writer);
      await new Promise((r) => setTimeout(r, 1500 + round * 700));
      await server.kill();
      stop = true;
      await Promise.all(writers);
    }
    assert.ok(acked.size > 20, `only ${acked.size} batches were acknowledged`);
    const server = await startChildServer(dir, [], ENV);
    try {
      const counts = await countsByBatch(server.url);
      const missing = [...acked].filter((id) => counts.get(id) !== PER_BATCH);
      assert.deepEqual(missing.map((id) => [id, counts.get(id) ?? 0]), [], 'acknowledged batches missing or partial');
      for (const [id, n] of counts) assert.ok(n === PER_BATCH, `batch ${id} has ${n} rows (a batch is one transaction: all or nothing, never twice)`);
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
