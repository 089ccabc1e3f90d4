/** `cairn patterns` against a real server and `cairn patterns mine` on stdin, as a user runs them. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, postLogs, startTestServer, type TestServer } from './helpers/server.ts';

/** Runs the cairn command without blocking this process (the test server lives here). */
function cairn(args: string[], input = ''): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'cairn.js'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(input);
  });
}

test('patterns mine prints each line\'s final template, in order', async () => {
  const lines = [
    'Invalid user root from 10.0.0.1',
    'Connection closed by 10.0.0.1 [preauth]',
    'Invalid user admin from 10.0.0.2',
    'Invalid user oracle from 10.0.0.3',
    'Invalid user test from 10.0.0.4',
    '',
    'Connection closed by 10.0.0.9 [preauth]',
  ];
  const r = await cairn(['patterns', 'mine'], lines.join('\r\n'));
  assert.equal(r.code, 0, r.err);
  const rows = r.out.split('\n').slice(0, -1).map((l) => l.split('\t'));
  assert.equal(rows.length, lines.length);
  // The first user line is printed with the template it ended up in, not the one it had when read.
  for (const i of [0, 2, 3, 4]) assert.deepEqual(rows[i], [rows[0]![0], 'Invalid user <*> from <*>']);
  assert.deepEqual(rows[1], [rows[6]![0], 'Connection closed by <*> [preauth]']);
  assert.equal(rows[5]![1], '');
  assert.match(rows[0]![0]!, /^[0-9a-f]{16}$/);
});

test('patterns mine: large input streams through (100k lines)', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 100_000; i++) lines.push(`worker ${i % 7} finished job ${i} in ${i % 1000} ms`);
  const r = await cairn(['patterns', 'mine'], lines.join('\n') + '\n');
  assert.equal(r.code, 0, r.err);
  const out = r.out.split('\n');
  assert.equal(out.length, 100_001);
  assert.equal(new Set(out.slice(0, -1)).size, 1);
  assert.match(out[0]!, /\tworker <\*> finished job <\*> in <\*>$/);
});

test('patterns mine rejects a bad --max-templates', async () => {
  const r = await cairn(['patterns', 'mine', '--max-templates', 'lots']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--max-templates/);
});

describe('cairn patterns against a server', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    const records = [];
    for (let i = 0; i < 20; i++) records.push({ message: `GET /api/items/${i} 200 ${i * 3} ms`, service: 'web' });
    for (let i = 0; i < 5; i++) records.push({ message: `cache miss for key ${i}`, service: 'cache' });
    assert.equal((await postLogs(s.url, records)).status, 200);
  });
  after(() => s.stop());

  test('table, query, --limit and --json', async () => {
    let r = await cairn(['patterns', '--url', s.url]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.match(lines[0]!, /COUNT\s+TEMPLATE_ID\s+TEMPLATE/);
    assert.match(lines[1]!, /^\s*20\s+[0-9a-f]{16}\s+GET <\*> <\*> <\*>$/);
    assert.match(lines[2]!, /^\s*5\s+[0-9a-f]{16}\s+cache miss for key <\*>$/);
    r = await cairn(['patterns', 'service:cache', '--url', s.url, '--json']);
    const body = JSON.parse(r.out);
    assert.deepEqual(body.patterns.map((p: { count: number }) => p.count), [5]);
    r = await cairn(['patterns', '--url', s.url, '--limit', '1']);
    assert.equal(r.out.trim().split('\n').length, 2);
    r = await cairn(['patterns', '--url', s.url, '--limit', '0']);
    assert.equal(r.code, 1);
    assert.match(r.err, /limit/);
  });
});
