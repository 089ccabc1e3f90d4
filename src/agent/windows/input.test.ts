/**
 * The Windows input on captured wevtutil output (no Windows here: the runner
 * serves test/fixtures/windows captures): events reach the buffer with the
 * channel's bookmark, the bookmark file follows, and a bookmark file left
 * behind by a crash is brought up to the buffer's position at start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../util/logger.ts';
import { DiskBuffer } from '../buffer/buffer.ts';
import { windowsInputSchema } from '../config.ts';
import { createAgentMetrics } from '../metrics.ts';
import { decodeRecord } from '../record.ts';
import { BookmarkStore } from './bookmark.ts';
import type { CommandLine } from './commands.ts';
import { createWindowsInput } from './input.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'windows');

async function* runner(cmd: CommandLine) {
  const key = cmd.args.slice(0, 4).join(' ');
  const byQuery: Record<string, string> = {
    'qe System /q:* /c:5': 'wevtutil-system-rendered.xml',
    'qe System /q:*[System[EventRecordID>=1004]] /c:6': 'wevtutil-system-next.xml',
  };
  const name = byQuery[key];
  if (!name) {
    yield '<Events></Events>';
    return;
  }
  yield '\ufeff' + readFileSync(join(FIXTURES, name), 'utf8');
}

test('events and bookmarks go to the buffer together; a lagging bookmark file is caught up at start; other OSes are refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-wininput-'));
  const buffer = DiskBuffer.open({ dir: join(dir, 'buffer'), maxBytes: 64 << 20, segmentBytes: 1 << 20, policy: 'block', fsyncIntervalMs: 5 });
  const ctx = { buffer, hostname: 'agent-host', os: 'windows' as const, stateDir: dir, logger: silentLogger, metrics: createAgentMetrics(), claims: new Map() };
  const cfg = windowsInputSchema.parse({ channels: ['System'], batch_size: 5, poll_interval: '20ms', service: 'dc' });
  const input = createWindowsInput(cfg, 'windows', ctx, { platform: 'win32', run: runner });
  input.start();
  const records: any[] = [];
  while (records.length < 7) {
    const chunk = (await buffer.read(100, 1 << 20))!;
    records.push(...chunk.records.map((r) => decodeRecord(r.record)));
  }
  await input.stop();
  assert.deepEqual(records.map((r) => JSON.parse(r.attrsJson).RecordID), [1000, 1001, 1002, 1003, 1004, 1005, 1006]);
  assert.equal(records[0].message, 'The Windows Update service entered the running state.');
  assert.deepEqual([records[0].os, records[0].host, records[0].service], ['windows', 'WS-0042.corp.example', 'dc']);
  assert.equal((buffer.position('windows:System') as any).record_id, '1006');
  const bookmarkFile = join(dir, 'windows-bookmarks.json');
  assert.equal(BookmarkStore.load(bookmarkFile).get('System')?.recordId, 1006n);

  // The bookmark file lost its last save (a crash right after the buffer write): caught up at start.
  const stale = BookmarkStore.load(bookmarkFile);
  stale.set('System', { recordId: 1002n, systemTime: '2024-03-05T09:14:00.0000000Z' });
  stale.save();
  createWindowsInput(cfg, 'windows', ctx, { platform: 'win32', run: runner });
  assert.equal(BookmarkStore.load(bookmarkFile).get('System')?.recordId, 1006n);

  assert.throws(() => createWindowsInput(cfg, 'windows', ctx, { platform: 'linux' }), /runs only on Windows \(this machine runs linux\); to read exported \.evtx files use inputs\.evtx/);
  await buffer.close();
});
