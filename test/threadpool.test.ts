/**
 * DuckDB runs each statement on a libuv thread for as long as it runs, and
 * that pool is shared with zlib and fs: `cairn` starts with room for every
 * query connection besides the store's own writes (an append's COMMIT must
 * not wait for four long queries to end).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { startChildServer, tempDir } from './helpers/server.ts';

test('cairn server runs with a libuv thread pool larger than the store\'s query connections', async () => {
  const dir = tempDir();
  const server = await startChildServer(dir);
  try {
    await fetch(`${server.url}/api/v1/query?q=x`);
    const pid = server.child.pid!;
    const workers = readdirSync(`/proc/${pid}/task`).filter((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() === 'libuv-worker');
    assert.ok(workers.length >= 16, `${workers.length} libuv threads`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
