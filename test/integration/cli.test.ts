/** The `cairn` command as a user runs it: help, config check, tokens, ingest and query against a real server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startChildServer } from '../helpers/server.ts';

function cairn(args: string[], opts: { input?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'cairn.js'), ...args], {
    input: opts.input,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('--help on every command', () => {
  const top = cairn(['--help']);
  assert.equal(top.code, 0);
  for (const cmd of ['server', 'query', 'patterns', 'ingest', 'import', 'token', 'config']) {
    assert.match(top.out, new RegExp(`\\b${cmd}\\b`));
    const h = cairn([cmd, '--help']);
    assert.equal(h.code, 0, `${cmd} --help`);
    assert.match(h.out, /usage:\s+cairn/);
  }
  const bad = cairn(['frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown command "frobnicate"/);
  const badFlag = cairn(['query', '--nope']);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.err, /--nope/);
});

test('config check reports every bad key with its path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-'));
  try {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'server:\n  listen: 127.0.0.1:9999\ningest:\n  max_body_bytes: 8MiB\n');
    const ok = cairn(['config', 'check', good]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /ok/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'server:\n  listen: 0.0.0.0:1\n  colour: blue\nquery:\n  timeout: forever\n');
    const res = cairn(['config', 'check', bad]);
    assert.equal(res.code, 78);
    assert.match(res.err, /server\.colour: unknown key/);
    assert.match(res.err, /query\.timeout: expected a duration/);
    const open = join(dir, 'open.yaml');
    writeFileSync(open, 'server:\n  listen: 0.0.0.0:7480\nauth:\n  mode: open\n');
    assert.match(cairn(['config', 'check', open]).err, /auth\.mode: "open" is only allowed on a loopback address/);
    const pipeline = join(dir, 'pipeline.yaml');
    writeFileSync(pipeline, "pipeline:\n  stages:\n    p: {type: parse, format: [json, xml]}\n    r: {type: redact, custom: [{name: k, regex: '(a)\\1'}]}\n");
    const piped = cairn(['config', 'check', pipeline]);
    assert.equal(piped.code, 78);
    assert.match(piped.err, /pipeline\.stages\.p\.format\.1: unknown format "xml"/);
    assert.match(piped.err, /pipeline\.stages\.r\.custom\.0\.regex: .*needs backtracking/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('token create/list/revoke, ingest a file and query it back (table and NDJSON)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-'));
  const server = await startChildServer(join(dir, 'data'), [], { CAIRN_AUTH__MODE: 'token' });
  try {
    const data = ['--data', join(dir, 'data')];
    const ingestTok = cairn(['token', 'create', '--tenant', 'acme', '--role', 'ingest', ...data]);
    assert.equal(ingestTok.code, 0, ingestTok.err);
    assert.match(ingestTok.out.trim(), /^cairn_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.match(ingestTok.err, /shown only this once/);
    const readTok = cairn(['token', 'create', '--tenant', 'acme', '--role', 'read', '--expires', '1d', ...data]).out.trim();
    const list = cairn(['token', 'list', ...data]);
    assert.match(list.out, /tenant=acme {2}role=ingest/);
    assert.match(list.out, /role=read .*expires=20/);
    assert.doesNotMatch(list.out, /cairn_/);
    assert.equal(cairn(['token', 'create', '--tenant', 'bad tenant!', '--role', 'read', ...data]).code, 2);
    await new Promise((r) => setTimeout(r, 1100));

    const file = join(dir, 'app.log');
    writeFileSync(file, 'first line from a file\nsecond line, with ERROR inside\n');
    const env = { CAIRN_URL: server.url };
    const ing = cairn(['ingest', file, '--host', 'cli-host', '--service', 'cli', '--token', ingestTok.out.trim()], { env });
    assert.equal(ing.code, 0, ing.err);
    assert.match(ing.err, /2 accepted, 0 rejected/);
    const nd = cairn(['ingest', '-', '--token', ingestTok.out.trim()], { env, input: '{"message":"from stdin","level":"error"}\n{"bad json\n' });
    assert.equal(nd.code, 1);
    assert.match(nd.err, /line 2: invalid JSON/);
    assert.match(nd.err, /1 accepted, 1 rejected/);

    const table = cairn(['query', 'service:cli', '--token', readTok], { env });
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, /^TIME +LEVEL +HOST +UNIT +MESSAGE/);
    assert.match(table.out, /info +cli-host .*second line, with ERROR inside/);
    const ndjson = cairn(['query', 'level:error', '--ndjson', '--token', readTok], { env });
    const records = ndjson.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => r.message), ['from stdin']);
    assert.equal(records[0].tenant, 'acme');
    const denied = cairn(['query', '', '--token', ingestTok.out.trim()], { env });
    assert.equal(denied.code, 1);
    assert.match(denied.err, /403/);

    const id = list.out.split('\n')[0]!.split(' ')[0]!;
    assert.equal(cairn(['token', 'revoke', id, ...data]).code, 0);
    assert.equal(cairn(['token', 'revoke', id, ...data]).code, 1);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('server refuses to start with a bad configuration and names the key', () => {
  const r = cairn(['server', '--listen', 'nowhere', '--data', join(tmpdir(), 'cairn-never')]);
  assert.equal(r.code, 78);
  assert.match(r.err, /server\.listen: expected HOST:PORT.*\(from --listen\)/);
});
