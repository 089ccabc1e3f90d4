import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, validateConfig } from './load.ts';

function writeYaml(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cairn-cfg-')), 'cairn.yaml');
  writeFileSync(file, text);
  return file;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('defaults need no file', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.server.listen, '127.0.0.1:7480');
  assert.equal(c.server.data_dir, './data');
  assert.equal(c.ingest.max_line_bytes, 256 * 1024);
  assert.equal(c.query.timeout, 30_000);
});

test('durations and sizes are parsed', () => {
  const c = validateConfig({ ingest: { max_body_bytes: '8MiB', max_future: '2h' }, store: { duckdb: { head_max_age: '90s' } } }, 't');
  assert.equal(c.ingest.max_body_bytes, 8 * 1024 * 1024);
  assert.equal(c.ingest.max_future, 7_200_000);
  assert.equal(c.store.duckdb.head_max_age, 90_000);
});

test('unknown and invalid keys stop start-up with their path and reason', () => {
  const file = writeYaml('server:\n  listen: nowhere\n  lisen: 1\ningest:\n  max_future: soon\nbogus: {}\n');
  const p = problems(() => loadConfig({ file, env: {} }));
  assert.ok(p.some((x) => x.startsWith('server.listen:') && x.includes('HOST:PORT')), p.join('\n'));
  assert.ok(p.includes('server.lisen: unknown key'), p.join('\n'));
  assert.ok(p.some((x) => x.startsWith('ingest.max_future:') && x.includes('"soon"')), p.join('\n'));
  assert.ok(p.includes('bogus: unknown key'), p.join('\n'));
});

test('YAML syntax errors name the line', () => {
  const file = writeYaml('server:\n  listen: "a\n');
  const p = problems(() => loadConfig({ file, env: {} }));
  assert.match(p[0]!, /cairn\.yaml:\d+:/);
});

test('precedence: file < environment < flags, and env errors name the variable', () => {
  const file = writeYaml('server:\n  listen: 127.0.0.1:1000\n  data_dir: /from/file\ningest:\n  keep_raw: false\n');
  const c = loadConfig({
    file,
    env: { CAIRN_SERVER__LISTEN: '127.0.0.1:2000', CAIRN_INGEST__KEEP_RAW: 'true' },
    flags: { 'server.listen': '127.0.0.1:3000' },
  });
  assert.equal(c.server.listen, '127.0.0.1:3000');
  assert.equal(c.server.data_dir, '/from/file');
  assert.equal(c.ingest.keep_raw, true);
  const p = problems(() => loadConfig({ env: { CAIRN_QUEUE__MAX_RECORDS: 'lots' } }));
  assert.match(p[0]!, /^queue\.max_records: .*\(from CAIRN_QUEUE__MAX_RECORDS\)$/);
});
