/** The UDP listener: datagrams become records; what the kernel drops while Cairn is busy is read back from /proc. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { validateConfig } from '../../config/load.ts';
import { createMetrics } from '../../metrics/metrics.ts';
import { MemoryQueue } from '../../queue/memory/index.ts';
import type { LogRecord } from '../../record/record.ts';
import { silentLogger } from '../../util/logger.ts';
import { Ingestor } from '../ingestor.ts';
import { UdpListener } from './udp.ts';

function listener(stored: LogRecord[]) {
  const metrics = createMetrics({ defaultMetrics: false });
  // A real queue whose consumer keeps the records instead of a store.
  const queue = new MemoryQueue({ maxRecords: 100_000, maxBytes: 64 << 20, batchRecords: 10_000, retryAfterSeconds: 1, metrics });
  queue.start(async (batches) => {
    for (const b of batches) stored.push(...b.records);
  });
  const ingestor = new Ingestor(validateConfig({}, 'test'), queue, metrics);
  const options = { os: 'linux' as const, keepRaw: false, batchRecords: 100, lingerMs: 10, maxMessageBytes: 1024, oversize: 'reject' as const, receiveBuffer: 4096 };
  return { udp: new UdpListener('127.0.0.1', 0, { source: 'syslog', tenant: 't1' }, { ingestor, metrics, logger: silentLogger, options }), metrics };
}

test('datagrams become records of the listener tenant; empty ones are ignored', async () => {
  const stored: LogRecord[] = [];
  const { udp } = listener(stored);
  const port = await udp.listen();
  const sock = createSocket('udp4');
  for (const m of ['<11>Mar  9 10:00:00 h1 app[3]: one', '', '<14>two']) await new Promise<void>((r) => sock.send(m, port, '127.0.0.1', () => r()));
  sock.close();
  for (let i = 0; i < 100 && stored.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  await udp.close(1000);
  assert.deepEqual(
    stored.map((r) => [r.tenant, r.host, r.unit, r.severity, r.message]),
    [
      ['t1', 'h1', 'app', 3, 'one'],
      ['t1', '127.0.0.1', '', 6, 'two'],
    ],
  );
});

test('kernel drops on the socket are read from /proc/net/udp', async () => {
  const { udp } = listener([]);
  const port = await udp.listen();
  assert.equal(udp.kernelDrops(), 0);
  // While this process is blocked in execFileSync, another floods the 4 KiB socket buffer.
  const flood = `const s=require('dgram').createSocket('udp4');let n=0;const b=Buffer.alloc(1000,65);(function go(){if(n++>=3000)return s.close();s.send(b,${port},'127.0.0.1',go)})()`;
  execFileSync(process.execPath, ['-e', flood]);
  assert.ok((udp.kernelDrops() ?? 0) > 0, 'the kernel counted drops');
  await udp.close(1000);
});
