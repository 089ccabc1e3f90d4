import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLEAN_COUNTS, sampleFile } from '../../../test/helpers/evtx.ts';
import { silentLogger } from '../../util/logger.ts';
import { DiskBuffer } from '../buffer/buffer.ts';
import { evtxInputSchema } from '../config.ts';
import { createAgentMetrics } from '../metrics.ts';
import { decodeRecord } from '../record.ts';
import { createEvtxInput } from './input.ts';
import { EvtxReader } from './reader.ts';

function open(dir: string) {
  const buffer = DiskBuffer.open({ dir: join(dir, 'buffer'), maxBytes: 256 << 20, segmentBytes: 4 << 20, policy: 'block', fsyncIntervalMs: 5 });
  return { buffer, ctx: { buffer, hostname: 'h', os: 'linux' as const, stateDir: dir, logger: silentLogger, metrics: createAgentMetrics(), claims: new Map() } };
}

/** What the buffer receives until `expect` records came (then quietMs more), or quietMs pass with nothing. */
const pendingReads = new WeakMap<DiskBuffer, ReturnType<DiskBuffer['read']>>();
async function drain(buffer: DiskBuffer, expect = 0, quietMs = 1000): Promise<any[]> {
  const out: any[] = [];
  const deadline = Date.now() + 30_000;
  for (;;) {
    const wait = out.length < expect && Date.now() < deadline ? 30_000 : quietMs;
    // A read left waiting by the last call is the one to wait for (its chunk must not be lost).
    const read = pendingReads.get(buffer) ?? buffer.read(5000, 8 << 20);
    pendingReads.set(buffer, read);
    const chunk = await Promise.race([read, new Promise<null>((r) => setTimeout(() => r(null), wait))]);
    if (!chunk) return out;
    pendingReads.delete(buffer);
    out.push(...chunk.records.map((r) => decodeRecord(r.record)));
    buffer.ack(chunk.lo, chunk.hi);
  }
}

test('each exported file is read once, remembered across restarts; a restart mid-file continues after the last buffered record', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-evtxin-'));
  const drop = join(dir, 'exports');
  mkdirSync(drop, { recursive: true });
  for (const f of ['system.evtx', 'sysmon.evtx']) {
    copyFileSync(sampleFile(f), join(drop, f));
    utimesSync(join(drop, f), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  }
  const cfg = evtxInputSchema.parse({ paths: [join(drop, '*.evtx')], scan_interval: '50ms', service: 'imports' });
  let { buffer, ctx } = open(dir);
  let input = createEvtxInput(cfg, 'evtx', ctx);
  input.start();
  const first = await drain(buffer, CLEAN_COUNTS['system.evtx']! + CLEAN_COUNTS['sysmon.evtx']!);
  assert.equal(first.length, CLEAN_COUNTS['system.evtx']! + CLEAN_COUNTS['sysmon.evtx']!);
  assert.ok(first.every((r) => r.os === 'windows' && r.service === 'imports'));
  await input.stop();
  await buffer.close();

  ({ buffer, ctx } = open(dir));
  input = createEvtxInput(cfg, 'evtx', ctx);
  input.start();
  assert.equal((await drain(buffer)).length, 0, 'not read again after a restart');
  await input.stop();

  // As if the agent had died after buffering 1000 records of system.evtx.
  const path = join(drop, 'system.evtx');
  const st = statSync(path);
  await buffer.append([], { [`evtx:${path}`]: { size: st.size, mtime: st.mtimeMs, records: 1000, done: false } });
  input = createEvtxInput(cfg, 'evtx', ctx);
  input.start();
  const rest = await drain(buffer, CLEAN_COUNTS['system.evtx']! - 1000);
  assert.equal(rest.length, CLEAN_COUNTS['system.evtx']! - 1000);
  const ids = [...EvtxReader.open(path).records()].map((r) => Number(r.recordId));
  assert.deepEqual(rest.map((r) => JSON.parse(r.attrsJson).RecordID), ids.slice(1000));
  await input.stop();
  await buffer.close();
});
