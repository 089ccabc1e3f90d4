/**
 * The collector driven by captured wevtutil/PowerShell output (hand-made
 * captures in test/fixtures/windows: this machine has no Windows). The runner
 * that would spawn wevtutil.exe is replaced by one that serves the capture
 * for the command line asked; spawnRunner itself is tested with a real child
 * process (node) that prints the same bytes wevtutil would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BookmarkStore } from './bookmark.ts';
import type { CommandLine } from './commands.ts';
import { spawnRunner, WindowsEventLogCollector, type CommandRunner } from './collector.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'windows');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

/** Serves captures by query; records which command lines were run. */
function capturedRunner(byQuery: Record<string, string>, log: string[]): CommandRunner {
  return async function* (cmd: CommandLine) {
    const key = cmd.args.slice(0, 4).join(' ');
    log.push(key);
    const name = byQuery[key];
    if (!name) throw new Error(`no capture for ${key}`);
    // wevtutil /uni:true prints UTF-16 with a byte order mark; the runner decodes it, the BOM remains.
    const text = '\ufeff' + fixture(name);
    for (let i = 0; i < text.length; i += 300) yield text.slice(i, i + 300);
  };
}

test('poll, commit, restart, next poll; a cleared log is read again from its start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-wincol-'));
  try {
    const stateFile = join(dir, 'bookmarks.json');
    const log: string[] = [];
    const notices: string[] = [];
    const run = capturedRunner(
      {
        'qe System /q:* /c:5': 'wevtutil-system-rendered.xml',
        'qe System /q:*[System[EventRecordID>=1004]] /c:6': 'wevtutil-system-next.xml',
        'qe System /q:*[System[EventRecordID>=1006]] /c:6': 'wevtutil-system-cleared.xml',
      },
      log,
    );
    const options = { channels: ['System'], method: 'wevtutil' as const, batchSize: 5, rendered: true, startAt: 'oldest' as const, stateFile, run, onNotice: (c: string, m: string) => notices.push(`${c}: ${m}`) };
    const first = new WindowsEventLogCollector(options);
    const a = await first.poll('System');
    assert.deepEqual(a.events.map((e) => e.recordId), [1000n, 1001n, 1002n, 1003n, 1004n]);
    assert.equal(a.events[0]!.message, 'The Windows Update service entered the running state.');
    a.commit();
    assert.equal(first.bookmark('System')?.recordId, 1004n);

    // A new process (restart) continues after the bookmark; the bookmarked record is not returned twice.
    const second = new WindowsEventLogCollector(options);
    const b = await second.poll('System');
    assert.deepEqual(b.events.map((e) => e.recordId), [1005n, 1006n]);
    // Not committed (say the send failed): the same events come again.
    const again = await second.poll('System');
    assert.deepEqual(again.events.map((e) => e.recordId), [1005n, 1006n]);
    again.commit();

    // The log is cleared: record 1006 is gone; the collector says so and reads from the oldest record.
    const third = new WindowsEventLogCollector({
      ...options,
      run: capturedRunner({ 'qe System /q:*[System[EventRecordID>=1006]] /c:6': 'wevtutil-system-cleared.xml', 'qe System /q:* /c:5': 'wevtutil-system-restarted.xml' }, log),
    });
    const c = await third.poll('System');
    assert.deepEqual(c.events.map((e) => e.recordId), [1n, 2n]);
    assert.match(notices.join('\n'), /System: record 1006 and everything after it are gone: the log was cleared; reading it again from its oldest record/);
    c.commit();
    assert.equal(new WindowsEventLogCollector(options).bookmark('System')?.recordId, 2n);
    assert.deepEqual(log, [
      'qe System /q:* /c:5',
      'qe System /q:*[System[EventRecordID>=1004]] /c:6',
      'qe System /q:*[System[EventRecordID>=1004]] /c:6',
      'qe System /q:*[System[EventRecordID>=1006]] /c:6',
      'qe System /q:* /c:5',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('start at the newest record; PowerShell output; a wrapped log reports missed records', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-wincol-'));
  try {
    const notices: string[] = [];
    const served: string[] = [];
    const run: CommandRunner = async function* (cmd) {
      const script = Buffer.from(cmd.args[5]!, 'base64').toString('utf16le');
      served.push(script.match(/Get-WinEvent [^)]*/)![0]);
      if (/-MaxEvents 1\)/.test(script)) yield '<Events>\n' + fixture('powershell-application.xml').split('\n')[1] + '\n</Events>\n';
      else yield fixture('powershell-application.xml');
    };
    const collector = new WindowsEventLogCollector({
      channels: ['Application'],
      method: 'powershell',
      batchSize: 100,
      rendered: true,
      startAt: 'newest',
      stateFile: join(dir, 'b.json'),
      run,
      onNotice: (c, m) => notices.push(m),
    });
    const batch = await collector.poll('Application');
    // The newest record (8812 in this capture) becomes the bookmark; the query from it returns it first.
    assert.deepEqual(batch.events.map((e) => e.recordId), [8813n, 8814n]);
    assert.equal(batch.events[0]!.message!.split('\r\n')[0], 'Faulting application name: notepad++.exe, version: 8.6.2.0, time stamp: 0x65a1b6f3');
    assert.match(served[0]!, /-LogName 'Application' -MaxEvents 1/);
    assert.match(served[1]!, /-FilterXPath '\*\[System\[EventRecordID>=8812\]\]' -MaxEvents 101 -Oldest/);
    assert.equal(notices.length, 0);

    // Bookmark at 8810 but the oldest record left is 8812: 8811 was overwritten.
    const state = BookmarkStore.load(join(dir, 'w.json'));
    state.set('Application', { recordId: 8810n, systemTime: 'x' });
    state.save();
    const wrapped = new WindowsEventLogCollector({ channels: ['Application'], method: 'powershell', batchSize: 100, rendered: true, startAt: 'oldest', stateFile: join(dir, 'w.json'), run, onNotice: (c, m) => notices.push(m) });
    const w = await wrapped.poll('Application');
    assert.equal(w.missed, 1n);
    assert.deepEqual(w.events.map((e) => e.recordId), [8812n, 8813n, 8814n]);
    assert.deepEqual(notices, ['1 records were overwritten before they could be read (the log wrapped)']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('spawnRunner: a real child process, UTF-16 output split anywhere, failures carry stderr', async () => {
  const text = fixture('wevtutil-system-rendered.xml');
  const script = `const b = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(${JSON.stringify(text)}, 'utf16le')]); let i = 0; const t = setInterval(() => { process.stdout.write(b.subarray(i, i + 333)); i += 333; if (i >= b.length) clearInterval(t); }, 1);`;
  let out = '';
  for await (const chunk of spawnRunner({ command: process.execPath, args: ['-e', script], encoding: 'utf-16le' })) out += chunk;
  assert.equal(out, text);
  const failing = spawnRunner({ command: process.execPath, args: ['-e', 'console.error("The specified channel could not be found."); process.exit(15007)'], encoding: 'utf-8' });
  await assert.rejects(async () => {
    for await (const _ of failing) void _;
  }, /exited with \d+: The specified channel could not be found\./);
  await assert.rejects(async () => {
    for await (const _ of spawnRunner({ command: join(FIXTURES, 'no-such-wevtutil.exe'), args: [], encoding: 'utf-8' })) void _;
  }, /could not be run: spawn .*ENOENT/);
});
