import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigStore, configFilePath, type AgentConfigEntry } from './configs.ts';

const dirs: string[] = [];
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cairn-agentcfg-'));
  dirs.push(d);
  return d;
}
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('configs are per tenant and key, versioned, with an etag of the content', () => {
  const dir = dataDir();
  const store = new AgentConfigStore(dir, 1024);
  const a1 = store.set('acme', 'web', { files: ['/var/log/nginx/*.log'] });
  assert.equal(a1.version, 1);
  assert.match(a1.etag, /^[0-9a-f]{32}$/);
  const a2 = store.set('acme', 'web', { files: ['/var/log/nginx/*.log', '/var/log/app.log'] });
  assert.equal(a2.version, 2);
  assert.notEqual(a2.etag, a1.etag);
  assert.equal(store.set('acme', 'web', { files: ['/var/log/nginx/*.log', '/var/log/app.log'] }).etag, a2.etag, 'same content, same etag');
  store.set('other', 'web', { x: 1 });
  assert.deepEqual(store.get('acme', 'web')?.config, { files: ['/var/log/nginx/*.log', '/var/log/app.log'] });
  assert.deepEqual(store.get('other', 'web')?.config, { x: 1 });
  assert.equal(store.get('acme', 'db'), undefined);
  assert.deepEqual(store.list('acme').map((c) => c.access_key), ['web']);
  assert.equal(store.list().length, 2);
  // A second store on the same directory (another process) reads the same file.
  assert.equal(new AgentConfigStore(dir, 1024).get('acme', 'web')?.version, 3);
  assert.ok(store.delete('acme', 'web'));
  assert.equal(store.delete('acme', 'web'), false);
  assert.equal(store.get('acme', 'web'), undefined);
});

test('bad keys, non-objects and oversized configs are refused with the reason', () => {
  const store = new AgentConfigStore(dataDir(), 64);
  assert.throws(() => store.set('t', 'a b', {}), /access key "a b" is not valid/);
  assert.throws(() => store.set('t', 'k', [1, 2]), /must be a JSON object/);
  assert.throws(() => store.set('t', 'k', 'text'), /must be a JSON object/);
  assert.throws(() => store.set('t', 'k', { big: 'x'.repeat(100) }), /at most 64 \(sources.agent.max_config_bytes\)/);
});

test('watchers hear changes made here and by another process; a broken file keeps the last good configs', async () => {
  const dir = dataDir();
  const server = new AgentConfigStore(dir, 1024);
  const heard: (AgentConfigEntry | undefined)[] = [];
  const unwatch = server.watch('acme', 'web', (e) => heard.push(e));
  server.set('acme', 'web', { v: 1 });
  server.set('acme', 'db', { v: 1 }); // another key: not heard
  assert.equal(heard.length, 1);
  assert.deepEqual(heard[0]?.config, { v: 1 });

  new AgentConfigStore(dir, 1024).set('acme', 'web', { v: 2 }); // "the CLI"
  const deadline = Date.now() + 5000;
  while (heard.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(heard[1]?.config, { v: 2 }, 'a write by another process reaches the watcher within the poll interval');

  writeFileSync(configFilePath(dir), '{ not json');
  await new Promise((r) => setTimeout(r, 1200));
  assert.deepEqual(server.get('acme', 'web')?.config, { v: 2 });
  assert.equal(heard.length, 2);
  unwatch();
  server.close();
  assert.match(readFileSync(configFilePath(dir), 'utf8'), /not json/);
});
