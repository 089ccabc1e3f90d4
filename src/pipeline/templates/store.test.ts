import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../util/logger.ts';
import { TemplateStore } from './store.ts';

function open(dir: string, extra: Partial<ConstructorParameters<typeof TemplateStore>[0]> = {}): TemplateStore {
  const store = new TemplateStore({ dir, snapshotIntervalMs: 0, logger: silentLogger, ...extra });
  store.open();
  return store;
}

test('templates of each tenant are saved at close and loaded at open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-templates-'));
  try {
    const a = open(dir);
    const id = a.mine('acme', 'disk sda1 is 91% full', 10n);
    a.mine('acme', 'disk sdb2 is 97% full', 20n);
    const other = a.mine('globex', 'disk sda1 is 91% full', 30n);
    assert.equal(other, id, 'same text, same id, in any tenant');
    await a.close();
    assert.deepEqual(readdirSync(dir).sort(), ['acme.json', 'globex.json'], 'no temporary files left');

    const b = open(dir);
    const t = b.get('acme', id)!;
    assert.equal(t.text, 'disk <*> is <*> full');
    assert.equal(t.count, 2);
    assert.equal(t.firstSeen, 10n);
    assert.equal(t.lastSeen, 20n);
    assert.equal(b.get('globex', id)!.count, 1);
    assert.equal(b.get('initech', id), undefined);
    assert.equal(b.mine('acme', 'disk sdc3 is 5% full', 40n), id);
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a snapshot that does not parse is set aside; other tenants load; odd file names are ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-templates-'));
  try {
    const a = open(dir);
    a.mine('good', 'service started', 0n);
    await a.close();
    writeFileSync(join(dir, 'broken.json'), '{"version":1,"templates":[{"id":');
    writeFileSync(join(dir, 'wrong.json'), '{"version":9,"templates":[],"aliases":[]}');
    writeFileSync(join(dir, '..bad name.json'), '{}');
    mkdirSync(join(dir, 'sub.json'));
    const b = open(dir);
    assert.ok(existsSync(join(dir, 'broken.json.bad')));
    assert.ok(existsSync(join(dir, 'wrong.json.bad')));
    assert.equal(b.sizes().get('good'), 1);
    assert.equal(b.sizes().has('broken'), false);
    assert.ok(existsSync(join(dir, 'sub.json')), 'a directory is not a snapshot');
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a tenant mined again after a save is saved again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-templates-'));
  try {
    const a = open(dir);
    a.mine('acme', 'first kind of line', 1n);
    await a.save();
    const later = a.mine('acme', 'second kind of line', 2n);
    await a.save();
    const b = open(dir);
    assert.equal(b.get('acme', later)?.text, 'second kind of line');
    await a.close();
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('snapshots are written every interval while tenants change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-templates-'));
  try {
    const a = open(dir, { snapshotIntervalMs: 20 });
    a.mine('acme', 'hello', 0n);
    const deadline = Date.now() + 5000;
    while (!existsSync(join(dir, 'acme.json')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(existsSync(join(dir, 'acme.json')));
    await a.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('evictions are reported once per tenant and batch', () => {
  const reported: [string, number][] = [];
  const store = new TemplateStore({ dir: null, snapshotIntervalMs: 0, logger: silentLogger, maxTemplates: 10, onEvict: (t, n) => reported.push([t, n]) });
  store.open();
  for (let i = 0; i < 30; i++) store.mine('acme', `${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))} ran`, 0n);
  store.reportEvictions();
  store.reportEvictions();
  assert.equal(reported.length, 1);
  assert.equal(reported[0]![0], 'acme');
  assert.ok(reported[0]![1] >= 20);
});
