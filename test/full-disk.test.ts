/**
 * A full disk: the store refuses with 503 and acknowledges nothing it did not
 * write; after space is freed and the server restarts, every acknowledged
 * record is there. The data directory is a small tmpfs in a private mount
 * namespace (unshare), so the test needs no privileges beyond user namespaces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { json, startChildServer, tempDir } from './helpers/server.ts';

const PER_BATCH = 500;

test('full disk: 503, nothing unwritten acknowledged, nothing acknowledged lost', { timeout: 180_000 }, async () => {
  const dir = tempDir('cairn-full-');
  const holder = spawn('unshare', ['-rm', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=20m tmpfs ${dir} && echo ready && exec sleep 600`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`could not create a tmpfs namespace (unshare exited ${code})`)));
  });
  const inNamespace = ['nsenter', '-t', String(holder.pid), '-U', '-m', '--preserve-credentials'];
  try {
    const server = await startChildServer(dir, [], {}, inNamespace);
    const acked: string[] = [];
    let refused = 0;
    let body: { code?: string; error?: string } = {};
    for (let n = 0; n < 2000 && refused < 3; n++) {
      const id = `b${n}`;
      const lines = Array.from({ length: PER_BATCH }, (_, i) =>
        JSON.stringify({ message: `disk filler ${id} ${i} ${Math.random().toString(36).repeat(8)}`, batch: id }),
      );
      const res = await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines.join('\n') });
      if (res.status === 200) {
        acked.push(id);
        await res.body?.cancel();
        continue;
      }
      assert.equal(res.status, 503, `expected 503 when the disk is full, got ${res.status}`);
      assert.ok(res.headers.get('retry-after'));
      body = (await json(res)) as typeof body;
      refused++;
    }
    assert.ok(refused > 0, 'the disk never filled');
    assert.equal(body.code, 'store_unavailable');
    assert.match(body.error ?? '', /store/);
    assert.ok(acked.length > 0);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503, '/readyz reports the failed store');
    await server.kill();

    const grow = spawnSync(inNamespace[0]!, [...inNamespace.slice(1), 'mount', '-o', 'remount,size=512m', dir]);
    assert.equal(grow.status, 0, String(grow.stderr));
    const again = await startChildServer(dir, [], {}, inNamespace);
    try {
      const res = await fetch(`${again.url}/api/v1/fields/batch/values?from=now-1h&limit=10000`);
      const values = ((await json(res)) as { values: { value: string; count: number }[] }).values;
      const counts = new Map(values.map((v) => [v.value, v.count]));
      const lost = acked.filter((id) => counts.get(id) !== PER_BATCH);
      assert.deepEqual(lost, [], 'acknowledged batches lost');
    } finally {
      await again.stop();
    }
  } finally {
    holder.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
