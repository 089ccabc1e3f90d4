/**
 * `cairn import FILE.evtx` end to end: a real server (child process), the
 * real CLI, the sample files; then the records are queried back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, startChildServer, tempDir } from './helpers/server.ts';
import { CLEAN_COUNTS, sampleFile } from './helpers/evtx.ts';

function cairn(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'cairn.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const WINDOW = { from: '2015-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z' };

async function get(url: string, path: string, params: Record<string, string>): Promise<any> {
  const res = await fetch(`${url}${path}?${new URLSearchParams({ ...WINDOW, ...params })}`);
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

test('cairn import: every record of the samples reaches the server and can be queried back', async () => {
  const dir = tempDir('cairn-evtx-');
  const server = await startChildServer(join(dir, 'data'));
  try {
    for (const name of ['security.evtx', 'sysmon.evtx', 'sample_with_a_bad_chunk_magic.evtx']) {
      const r = await cairn(['import', sampleFile(name), '--url', server.url, '--batch', '500']);
      assert.equal(r.code, 0, r.err);
      if (name in CLEAN_COUNTS) {
        const n = CLEAN_COUNTS[name]!;
        assert.match(r.err, new RegExp(`${name}: ${n} records read of ${n} the chunk headers announce; \\d+ chunks read, 0 bad chunks, 0 bad records`));
        assert.match(r.err, new RegExp(`sent ${n} records: ${n} accepted, 0 rejected`));
        assert.doesNotMatch(r.err, /warning|error/);
      } else {
        assert.match(r.err, /error: chunk 6 at offset 0x61000: bad chunk magic 00 00 00 00 00 00 00 00 \(expected "ElfChnk\\0"\); chunk skipped/);
        assert.match(r.err, /error: chunk 10 at offset 0xa1000: bad chunk magic/);
        assert.match(r.err, /300 records read of 467 the chunk headers announce; 4 chunks read, 2 bad chunks, 0 bad records/);
        assert.match(r.err, /sent 300 records: 300 accepted, 0 rejected/);
        assert.match(r.err, /warning: the file is damaged/);
      }
      assert.match(r.err, /\d+ records\/s/);
    }

    const hosts = await get(server.url, '/api/v1/fields/host/values', { limit: '10' });
    const byHost = Object.fromEntries(hosts.values.map((v: { value: string; count: number }) => [v.value, v.count]));
    // security.evtx spans a rename of its machine.
    assert.deepEqual(byHost, { 'WIN-03DLIIOFRRA': 2219, '37L4247F27-25': 42, 'DESKTOP-2KGM189': 358, 'DESKTOP-1N4R894': 300 });

    const logons = await get(server.url, '/api/v1/query', { q: 'EventID:4624 unit:Microsoft-Windows-Security-Auditing', limit: '1000' });
    assert.ok(logons.records.length > 0);
    const logon = logons.records.find((r: any) => r.attrs.RecordID === 2);
    assert.ok(logon, 'security record 2 (a 4624 logon) is stored');
    assert.equal(logon.os, 'windows');
    assert.equal(logon.type, 'system');
    assert.equal(logon.level, 'info');
    assert.equal(logon.ts, '2016-07-08T18:12:51.681640800Z');
    assert.equal(logon.attrs.Channel, 'Security');
    assert.equal(logon.attrs.EventData.TargetUserName, 'SYSTEM');
    assert.match(logon.message, /^Microsoft-Windows-Security-Auditing event 4624: SubjectUserSid=S-1-0-0 /);

    const sysmon = await get(server.url, '/api/v1/query', { q: 'host:DESKTOP-2KGM189 EventData.Image:*PING.EXE', limit: '5' });
    assert.ok(sysmon.records.length > 0);
    assert.equal(sysmon.records[0].type, 'application');
    assert.equal(sysmon.records[0].unit, 'Microsoft-Windows-Sysmon');
  } finally {
    await server.stop();
  }
});

test('cairn import --dry-run --ndjson prints normalized records; bad input is a clear error', async () => {
  const r = await cairn(['import', '--dry-run', '--ndjson', sampleFile('Application_no_crc32.evtx')]);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 17);
  const first = lines[0];
  assert.deepEqual(Object.keys(first).slice(0, 7), ['ts', 'host', 'unit', 'severity', 'os', 'type', 'message']);
  assert.equal(first.host, 'DESKTOP-0HIJB49');
  assert.equal(first.unit, 'SecurityCenter');
  assert.equal(first.os, 'windows');
  assert.match(first.ts, /^\d{19}$/);
  assert.equal(first.attrs.RecordID, 426);
  assert.match(r.err, /17 records read of 17 the chunk headers announce/);
  assert.match(r.err, /dry run, nothing sent/);

  const raw = await cairn(['import', '--dry-run', '--ndjson', '--raw', sampleFile('Application_no_crc32.evtx')]);
  assert.match(JSON.parse(raw.out.split('\n')[0]!).raw, /^<Event xmlns=/);

  const notEvtx = await cairn(['import', '--dry-run', join(ROOT, 'package.json')]);
  assert.equal(notEvtx.code, 1);
  assert.match(notEvtx.err, /package\.json: not an EVTX file/);
  const usage = await cairn(['import', '--ndjson', sampleFile('system.evtx')]);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /--ndjson prints instead of sending: use it with --dry-run/);
});
