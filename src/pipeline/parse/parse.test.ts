import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildStage, record, T0 } from '../../../test/helpers/pipeline.ts';
import { StageConfigError } from '../options.ts';
import { formatRfc3339Nano, parseRfc3339 } from '../../record/time.ts';
import { loadRawLines } from '../../../bench/lib/loghub.ts';

const iso = (ns: bigint) => formatRfc3339Nano(ns);

test('json: fields into attrs, time/level/msg into the core fields', async () => {
  const { run } = buildStage('p', { type: 'parse', format: 'json' });
  const [r] = await run([record('{"time":"2025-06-15T10:00:00.5Z","level":"warn","msg":"disk almost full","disk":{"free_pct":3},"user.id":"u1"}')]);
  assert.equal(r!.message, 'disk almost full');
  assert.equal(r!.severity, 4);
  assert.equal(iso(r!.ts), '2025-06-15T10:00:00.500000000Z');
  assert.deepEqual(r!.attrs, { disk: { free_pct: 3 }, user: { id: 'u1' } }, 'dotted keys nest, as attrs.user.id in a query reads them');
});

test('logfmt and kv: strict logfmt refuses prose, kv picks pairs out of it', async () => {
  const logfmt = buildStage('p', { type: 'parse', format: 'logfmt' });
  const [a, b] = await logfmt.run([record('level=error msg="upstream timed out" upstream=10.0.0.7:8080 retry'), record('upstream timed out user=bob')]);
  assert.equal(a!.message, 'upstream timed out');
  assert.equal(a!.severity, 3);
  assert.deepEqual(a!.attrs, { upstream: '10.0.0.7:8080', retry: true });
  assert.deepEqual(b!.attrs, {}, 'prose is not logfmt');
  const kv = buildStage('p', { type: 'parse', format: 'kv', target: 'attrs.kv' });
  const [c] = await kv.run([record('login failed for user=bob (pid=42), src=10.1.2.3 http.method=POST')]);
  assert.deepEqual(c!.attrs, { kv: { user: 'bob', pid: '42', src: '10.1.2.3', http: { method: 'POST' } } });
  assert.equal(c!.message, 'login failed for user=bob (pid=42), src=10.1.2.3 http.method=POST');
});

test('regex with named groups (RE2 spelling), formats tried in order', async () => {
  const { run } = buildStage('p', { type: 'parse', format: ['json', 'regex'], regex: '^(?P<action>\\w+) order (?P<order_id>\\d+)' });
  const [a, b] = await run([record('shipped order 1234 to Berlin'), record('{"msg":"x"}')]);
  assert.deepEqual(a!.attrs, { action: 'shipped', order_id: '1234' });
  assert.equal(b!.message, 'x');
});

test('nginx access: request split, status sets severity, CLF time into ts', async () => {
  const { run } = buildStage('p', { type: 'parse', format: 'nginx_access' });
  const line = '93.180.71.3 - - [17/May/2015:08:05:32 +0000] "GET /downloads/product_1 HTTP/1.1" 503 0 "-" "Debian APT-HTTP/1.3 (0.8.16~exp12ubuntu10.21)"';
  const [r] = await run([record(line, { observed_ts: parseRfc3339('2015-05-17T08:06:00Z')! })]);
  assert.equal(iso(r!.ts), '2015-05-17T08:05:32.000000000Z');
  assert.equal(r!.severity, 3);
  assert.equal(r!.message, line, 'the access line stays the message');
  assert.equal(r!.attrs.method, 'GET');
  assert.equal(r!.attrs.path, '/downloads/product_1');
  assert.equal(r!.attrs.status, '503');
  assert.equal(r!.attrs.remote_addr, '93.180.71.3');
  assert.equal(r!.attrs.user_agent, 'Debian APT-HTTP/1.3 (0.8.16~exp12ubuntu10.21)');
});

test('apache access with an escaped quote in the request', async () => {
  const { run } = buildStage('p', { type: 'parse', format: 'apache_access' });
  const [r] = await run([record('10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a\\"b HTTP/1.0" 200 2326', { observed_ts: parseRfc3339('2000-10-10T21:00:00Z')! })]);
  assert.equal(r!.attrs.remote_user, 'frank');
  assert.equal(r!.attrs.request, 'GET /a\\"b HTTP/1.0');
  assert.equal(iso(r!.ts), '2000-10-10T20:55:36.000000000Z');
  assert.equal(r!.severity, 6);
});

test('nginx and apache error logs', async () => {
  const { run } = buildStage('p', { type: 'parse', format: ['nginx_error', 'apache_error'] });
  const [n, a] = await run([
    record('2024/03/01 12:00:01 [error] 1234#0: *56 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.9, server: shop, request: "GET /cart HTTP/1.1", upstream: "http://127.0.0.1:9000/cart", host: "shop.example"', { observed_ts: parseRfc3339('2024-03-01T12:00:05Z')! }),
    record('[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6', { observed_ts: parseRfc3339('2005-12-04T05:00:00Z')! }),
  ]);
  assert.equal(n!.severity, 3);
  assert.equal(iso(n!.ts), '2024-03-01T12:00:01.000000000Z');
  assert.equal(n!.attrs.client, '10.0.0.9');
  assert.equal(n!.attrs.upstream, 'http://127.0.0.1:9000/cart');
  assert.equal(n!.attrs.method, 'GET');
  assert.equal(a!.severity, 3);
  assert.equal(iso(a!.ts), '2005-12-04T04:47:44.000000000Z');
  assert.equal(a!.attrs.detail, 'mod_jk child workerEnv in error state 6');
});

test('sshd, sudo and kernel messages', async () => {
  const { run } = buildStage('p', { type: 'parse', format: ['sshd', 'sudo', 'kernel'] });
  const out = await run([
    record('Failed password for invalid user admin from 203.0.113.9 port 52311 ssh2'),
    record('Accepted publickey for deploy from 10.0.0.5 port 40022 ssh2'),
    record('pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=218.188.2.4  user=root'),
    record('alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx'),
    record('mallory : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh'),
    record('[ 8123.456789] Out of memory: Killed process 4242 (java) total-vm:8000000kB'),
    record('[UFW BLOCK] IN=eth0 OUT= MAC=00:11 SRC=198.51.100.7 DST=10.0.0.2 LEN=40 PROTO=TCP SPT=4444 DPT=22'),
  ]);
  assert.deepEqual([out[0]!.attrs.event, out[0]!.attrs.user, out[0]!.attrs.client_ip, out[0]!.attrs.invalid_user], ['failed', 'admin', '203.0.113.9', true]);
  assert.equal(out[0]!.severity, 5);
  assert.deepEqual([out[1]!.attrs.event, out[1]!.attrs.method, out[1]!.attrs.user], ['accepted', 'publickey', 'deploy']);
  assert.deepEqual([out[2]!.attrs.event, out[2]!.attrs.user, out[2]!.attrs.client_ip], ['authentication_failure', 'root', '218.188.2.4']);
  assert.deepEqual([out[3]!.attrs.user, out[3]!.attrs.run_as, out[3]!.attrs.command], ['alice', 'root', '/usr/bin/systemctl restart nginx']);
  assert.equal(out[4]!.attrs.error, 'user NOT in sudoers');
  assert.equal(out[4]!.severity, 4);
  assert.deepEqual([out[5]!.attrs.kind, out[5]!.attrs.pid, out[5]!.attrs.process, out[5]!.attrs.uptime], ['oom', '4242', 'java', '8123.456789']);
  assert.equal(out[5]!.severity, 3);
  assert.deepEqual([out[6]!.attrs.kind, out[6]!.attrs.action, out[6]!.attrs.src, out[6]!.attrs.dpt], ['firewall', 'BLOCK', '198.51.100.7', '22']);
});

test('syslog lines still carrying their header: ts, host, unit and message from it (Loghub OpenSSH and Linux)', async () => {
  const { run } = buildStage('p', { type: 'parse', format: 'syslog' });
  const lines = [...loadRawLines('OpenSSH').slice(0, 200), ...loadRawLines('Linux').slice(0, 200)];
  const out = await run(lines.map((l) => record(l, { host: '', observed_ts: parseRfc3339('2025-12-31T00:00:00Z')! })));
  assert.equal(out.filter((r) => r.attrs.pipeline_error).length, 0);
  const ssh = out[1]!;
  assert.equal(ssh.host, 'LabSZ');
  assert.equal(ssh.unit, 'sshd');
  assert.equal(ssh.attrs.pid, '24200');
  assert.equal(ssh.message, 'Invalid user webmaster from 173.234.31.186');
  assert.equal(iso(ssh.ts), '2025-12-10T06:55:46.000000000Z', 'a yearless stamp takes the year nearest the receipt time');
  assert.ok(out.every((r) => r.unit !== ''), 'every Loghub line has the syslog header');
});

test('a timestamp that does not parse or is out of range is an error on the record, the rest is kept', async () => {
  const { run, count } = buildStage('p', { type: 'parse', format: 'json' });
  const [a, b] = await run([record('{"time":"yesterday","msg":"m","k":1}'), record('{"time":"2999-01-01T00:00:00Z","msg":"m"}')]);
  assert.equal(a!.ts, T0);
  assert.deepEqual(a!.attrs.pipeline_error, { stage: 'p', error: 'timestamp "yesterday" is not in auto format' });
  assert.match(String((b!.attrs.pipeline_error as { error: string }).error), /out of range/);
  assert.equal(await count('pipeline_errors_total', { stage: 'p' }), 2);
});

test('on_mismatch: keep (default), error, drop (counted by reason)', async () => {
  const lines = () => [record('{"a":1}'), record('not json')];
  assert.equal((await buildStage('p', { type: 'parse', format: 'json' }).run(lines())).length, 2);
  const err = await buildStage('p', { type: 'parse', format: 'json', on_mismatch: 'error' }).run(lines());
  assert.equal((err[1]!.attrs.pipeline_error as { error: string }).error, 'message is not in format json');
  const drop = buildStage('p', { type: 'parse', format: 'json', on_mismatch: 'drop' });
  const kept = await drop.run(lines());
  assert.deepEqual(kept.map((r) => r.message), ['{"a":1}']);
  assert.equal(await drop.count('pipeline_dropped_total', { stage: 'p', reason: 'mismatch' }), 1);
  assert.equal(await drop.count('pipeline_records_total', { stage: 'p', result: 'dropped' }), 1);
  assert.equal(await drop.count('pipeline_records_total', { stage: 'p', result: 'in' }), 2);
});

test('parsing another field, not overwriting attrs unless asked', async () => {
  const { run } = buildStage('p', { type: 'parse', field: 'attrs.payload', format: 'kv', core: {} });
  const [r] = await run([record('m', { attrs: { payload: 'a=1 b=2', a: 'orig' } })]);
  assert.deepEqual(r!.attrs, { payload: 'a=1 b=2', a: 'orig', b: '2' });
  const over = buildStage('p', { type: 'parse', field: 'attrs.payload', format: 'kv', overwrite: true });
  const [s] = await over.run([record('m', { attrs: { payload: 'a=1', a: 'orig' } })]);
  assert.equal(s!.attrs.a, '1');
});

test('option errors name the key', () => {
  const problems = (options: Record<string, unknown>) => {
    try {
      buildStage('p', { type: 'parse', ...options });
    } catch (err) {
      assert.ok(err instanceof StageConfigError);
      return err.problems.map((p) => `${p.key}: ${p.message}`);
    }
    assert.fail('expected a StageConfigError');
  };
  assert.match(problems({ format: 'xml' })[0]!, /^format: unknown format "xml" \(known: json, logfmt, kv, regex, nginx_access/);
  assert.match(problems({ format: 'regex' })[0]!, /^regex: format "regex" needs/);
  assert.match(problems({ format: 'regex', regex: '(a)\\1(?P<x>b)' })[0]!, /^regex: .*needs backtracking/);
  assert.match(problems({ format: 'regex', regex: 'no groups' })[0]!, /^regex: .*no named group/);
  assert.match(problems({ format: 'json', colour: 'red' })[0]!, /^colour: unknown key/);
  assert.match(problems({ format: 'json', field: 'nope' })[0]!, /^field: expected a core text field/);
});
