import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WindowsEvent } from '../../record/normalize/windows.ts';
import { BookmarkStore, reconcile } from './bookmark.ts';

function ev(recordId: bigint, systemTime: string): WindowsEvent {
  return { recordId, systemTime, computer: 'h', provider: 'p', level: 4, channel: 'System', eventId: 1 };
}
const B = { recordId: 10n, systemTime: '2024-03-05T09:00:00.0000000Z' };

test('reconcile: the bookmarked record comes back first and is dropped', () => {
  const r = reconcile(B, [ev(10n, B.systemTime), ev(11n, 't11'), ev(12n, 't12')]);
  assert.deepEqual(r, { kind: 'continue', events: [ev(11n, 't11'), ev(12n, 't12')], missed: 0n });
  assert.deepEqual(reconcile(B, [ev(10n, B.systemTime)]), { kind: 'continue', events: [], missed: 0n });
  assert.deepEqual(reconcile(undefined, [ev(1n, 'a')]), { kind: 'continue', events: [ev(1n, 'a')], missed: 0n });
});

test('reconcile: a cleared log (record gone, or another record under the same id) restarts from the oldest', () => {
  assert.equal(reconcile(B, []).kind, 'reset');
  const replaced = reconcile(B, [ev(10n, '2024-03-06T00:00:00.0000000Z'), ev(11n, 'x')]);
  assert.equal(replaced.kind, 'reset');
  assert.match((replaced as { reason: string }).reason, /record 10 is another event now/);
  assert.equal(reconcile(B, [ev(3n, 'x')]).kind, 'reset');
});

test('reconcile: a wrapped log that overwrote unread records reports how many were missed', () => {
  assert.deepEqual(reconcile(B, [ev(15n, 'x'), ev(16n, 'y')]), { kind: 'continue', events: [ev(15n, 'x'), ev(16n, 'y')], missed: 4n });
});

test('bookmark file: atomic save, survives a restart, bad files are errors naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bm-'));
  try {
    const path = join(dir, 'state', 'windows-bookmarks.json');
    const a = BookmarkStore.load(path);
    assert.equal(a.get('System'), undefined);
    a.set('System', B);
    a.set('Microsoft-Windows-Sysmon/Operational', { recordId: 18_446_744_073_709_551_615n, systemTime: 't' });
    a.save();
    assert.deepEqual(readdirSync(join(dir, 'state')), ['windows-bookmarks.json']); // no temporary file left
    const b = BookmarkStore.load(path);
    assert.deepEqual(b.get('System'), B);
    assert.equal(b.get('Microsoft-Windows-Sysmon/Operational')?.recordId, 18_446_744_073_709_551_615n);
    b.set('System', undefined);
    b.save();
    assert.equal(BookmarkStore.load(path).get('System'), undefined);
    assert.match(readFileSync(path, 'utf8'), /"version": 1/);
    writeFileSync(path, '{"version":1,"channels":{"System":{"record_id":"-1","system_time":"t"}}}');
    assert.throws(() => BookmarkStore.load(path), /windows-bookmarks\.json: not a Windows event log bookmark file \(bad bookmark for System\)/);
    writeFileSync(path, 'garbage');
    assert.throws(() => BookmarkStore.load(path), /not a Windows event log bookmark file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
