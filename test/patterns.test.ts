/** Template mining through a real server: template_id on stored records, /api/v1/patterns, tenancy, restart. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenStore } from '../src/auth/tokens.ts';
import { json, postLogs, query, startTestServer, tempDir, type TestServer } from './helpers/server.ts';

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function patterns(url: string, params: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/api/v1/patterns?${new URLSearchParams(params)}`, { headers });
  return { status: res.status, body: await json(res) };
}

const now = Date.now();
const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();

/** 30 failed logins (4 users), 12 accepted, 5 session lines with 5 user names. */
function sshLines(): { message: string; ts: string; host: string }[] {
  const out: { message: string; ts: string; host: string }[] = [];
  for (let i = 0; i < 30; i++) {
    out.push({ message: `Failed password for ${['root', 'admin', 'oracle', 'test'][i % 4]} from 10.0.${i}.7 port ${40000 + i} ssh2`, ts: at(50 - i), host: 'bastion' });
  }
  for (let i = 0; i < 12; i++) out.push({ message: `Accepted publickey for deploy from 10.1.0.${i} port ${50000 + i} ssh2`, ts: at(5), host: 'bastion' });
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) out.push({ message: `session opened for user ${user} by (uid=0)`, ts: at(3), host: 'web' });
  return out;
}

describe('patterns', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    assert.equal((await postLogs(s.url, sshLines())).status, 200);
  });
  after(() => s.stop());

  test('every stored record has a template_id; ids merged since fold into the current template', async () => {
    const { body } = await query(s.url, { q: 'Failed', limit: '100', from: 'now-2h' });
    assert.equal(body.records.length, 30);
    const ids = new Set<string>(body.records.map((r: { template_id: string }) => r.template_id));
    for (const id of ids) assert.match(id, /^[0-9a-f]{16}$/);
    // root, admin and oracle start templates of their own; the fourth user name makes the position a
    // variable, and its lines already get the merged template.
    assert.equal(ids.size, 3);
    const listed = (await patterns(s.url, { q: 'Failed', from: 'now-2h' })).body.patterns;
    assert.equal(listed.length, 1);
    assert.equal(listed[0].count, 30);
    assert.ok(ids.has(listed[0].template_id), 'the merged template keeps the id of its largest part');
    assert.deepEqual(new Set([listed[0].template_id, ...listed[0].merged_ids]), ids);
    const q = [...ids].map((id) => `template_id:${id}`).join(' OR ');
    assert.equal((await query(s.url, { q, limit: '100', from: 'now-2h' })).body.records.length, 30);
    assert.equal((await postLogs(s.url, [{ message: 'Failed password for nobody from 10.2.0.1 port 22 ssh2', ts: at(1) }])).status, 200);
    const latest = (await query(s.url, { q: 'nobody', from: 'now-2h' })).body.records[0];
    assert.equal(latest.template_id, listed[0].template_id);
  });

  test('lists templates with counts, text, first/last seen and an example', async () => {
    const { status, body } = await patterns(s.url, { from: 'now-2h' });
    assert.equal(status, 200);
    const byText = new Map(body.patterns.map((p: { template: string }) => [p.template, p]));
    const failed: any = byText.get('Failed password for <*> from <*> port <*> <*>');
    assert.ok(failed, `templates: ${[...byText.keys()].join(' | ')}`);
    assert.equal(failed.count, 31);
    assert.match(failed.example, /^Failed password for \w+ from 10\.0\.\d+\.7 port \d+ ssh2$/);
    assert.equal(failed.first_seen, at(50).replace('Z', '000000Z'));
    assert.equal(failed.last_seen, at(1).replace('Z', '000000Z'));
    assert.equal((byText.get('Accepted publickey for deploy from <*> port <*> <*>') as any)?.count, 12);
    assert.equal((byText.get('session opened for user <*> by (uid=<*>)') as any)?.count, 5);
    assert.equal(body.patterns[0].template, failed.template, 'most frequent first');
  });

  test('counts follow the query and the range; limit cuts the list', async () => {
    let { body } = await patterns(s.url, { q: 'host:web', from: 'now-2h' });
    assert.deepEqual(body.patterns.map((p: { count: number }) => p.count), [5]);
    ({ body } = await patterns(s.url, { from: 'now-30m' }));
    const failed = body.patterns.find((p: { template: string }) => p.template.startsWith('Failed'));
    assert.equal(failed.count, 10, 'failed logins 21..29 minutes ago and the one a minute ago');
    ({ body } = await patterns(s.url, { from: 'now-2h', limit: '1' }));
    assert.equal(body.patterns.length, 1);
    const bad = await patterns(s.url, { limit: 'x' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /limit/);
  });

  test('templates survive a restart', async () => {
    const dir = tempDir();
    let server = await startTestServer({}, dir);
    assert.equal((await postLogs(server.url, sshLines())).status, 200);
    const before = (await patterns(server.url, { from: 'now-2h' })).body.patterns;
    await server.close();
    assert.ok(existsSync(join(dir, 'templates', 'default.json')));
    assert.doesNotThrow(() => JSON.parse(readFileSync(join(dir, 'templates', 'default.json'), 'utf8')));
    server = await startTestServer({}, dir);
    try {
      const afterRestart = (await patterns(server.url, { from: 'now-2h' })).body.patterns;
      assert.deepEqual(afterRestart, before);
      // New lines of a known template keep its id.
      assert.equal((await postLogs(server.url, [{ message: 'Failed password for root from 10.9.9.9 port 22 ssh2' }])).status, 200);
      const failed = (await patterns(server.url, { from: 'now-2h' })).body.patterns.find((p: { template: string }) => p.template.startsWith('Failed'));
      assert.equal(failed.template_id, before.find((p: { template: string }) => p.template.startsWith('Failed')).template_id);
      assert.equal(failed.count, 31);
    } finally {
      await server.stop();
    }
  });

  test('an unreadable snapshot is set aside and the server starts with no templates', async () => {
    const dir = tempDir();
    let server = await startTestServer({}, dir);
    assert.equal((await postLogs(server.url, sshLines().filter((l) => l.message.startsWith('Accepted')))).status, 200);
    await server.close();
    const file = join(dir, 'templates', 'default.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, '{"version":1,"templates":[{"id":');
    server = await startTestServer({}, dir);
    try {
      assert.ok(existsSync(`${file}.bad`));
      const { body } = await patterns(server.url, { from: 'now-2h' });
      // Counts still come from the stored records; the text is unknown until those templates are seen again.
      assert.equal(body.patterns[0].count, 12);
      assert.equal(body.patterns[0].template, null);
    } finally {
      await server.stop();
    }
  });

  test('template mining can be switched off', async () => {
    const off = await startTestServer({ pipeline: { templates: { enabled: false } } });
    try {
      assert.equal((await postLogs(off.url, [{ message: 'hello 1' }])).status, 200);
      const { body } = await query(off.url, {});
      assert.equal(body.records[0].template_id, null);
      const res = await patterns(off.url, {});
      assert.equal(res.status, 404);
      assert.equal(res.body.code, 'templates_disabled');
    } finally {
      await off.stop();
    }
  });
});

describe('patterns and tenants', () => {
  let s: TestServer;
  const tok: Record<string, string> = {};
  before(async () => {
    s = await startTestServer({ auth: { mode: 'token' } });
    const store = new TokenStore(s.dataDir);
    for (const tenant of ['acme', 'globex']) {
      for (const role of ['ingest', 'read'] as const) tok[`${tenant}-${role}`] = store.create({ tenant, role }).token;
    }
    await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the token file at most once a second
    assert.equal((await postLogs(s.url, [{ message: 'acme order 1 shipped', tenant: 'globex' }], bearer(tok['acme-ingest']!))).status, 200);
    assert.equal((await postLogs(s.url, [{ message: 'globex invoice 7 paid' }], bearer(tok['globex-ingest']!))).status, 200);
  });
  after(() => s.stop());

  test('each tenant sees only its own templates; reading needs the read role', async () => {
    const acme = await patterns(s.url, {}, bearer(tok['acme-read']!));
    assert.deepEqual(acme.body.patterns.map((p: { template: string }) => p.template), ['acme order <*> shipped']);
    const globex = await patterns(s.url, {}, bearer(tok['globex-read']!));
    assert.deepEqual(globex.body.patterns.map((p: { template: string }) => p.template), ['globex invoice <*> paid']);
    assert.equal((await patterns(s.url, {})).status, 401);
    assert.equal((await patterns(s.url, {}, bearer(tok['acme-ingest']!))).status, 403);
  });
});
