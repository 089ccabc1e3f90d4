/** Tokens, roles and tenant isolation through every endpoint. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenStore } from '../src/auth/tokens.ts';
import { json, postLogs, startTestServer, type TestServer } from './helpers/server.ts';

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('tenancy and tokens', () => {
  let s: TestServer;
  const tok: Record<string, string> = {};
  before(async () => {
    s = await startTestServer({ auth: { mode: 'token' } });
    const store = new TokenStore(s.dataDir);
    for (const tenant of ['acme', 'globex']) {
      for (const role of ['ingest', 'read', 'admin'] as const) tok[`${tenant}-${role}`] = store.create({ tenant, role }).token;
    }
    tok.expired = store.create({ tenant: 'acme', role: 'admin', expiresMs: 1 }).token;
    await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the token file at most once a second
    for (const tenant of ['acme', 'globex']) {
      const res = await postLogs(
        s.url,
        [
          { message: `secret of ${tenant}`, host: `host-${tenant}`, service: `svc-${tenant}`, tenant: 'acme' },
          { message: `another ${tenant} line`, host: `host-${tenant}`, service: `svc-${tenant}`, attrs: { [`only_${tenant}`]: 1 } },
        ],
        bearer(tok[`${tenant}-ingest`]!),
      );
      assert.equal(res.status, 200);
    }
  });
  after(() => s.stop());

  test('missing, malformed, unknown and expired tokens get 401 with a reason', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /token is required/],
      [bearer('nonsense'), /malformed token/],
      [bearer('cairn_000000000000_' + 'A'.repeat(43)), /unknown or revoked/],
      [bearer(tok.expired!), /expired/],
    ];
    for (const [headers, reason] of cases) {
      for (const res of [await postLogs(s.url, [{ message: 'x' }], headers), await fetch(`${s.url}/api/v1/query`, { headers })]) {
        assert.equal(res.status, 401);
        assert.match(res.headers.get('www-authenticate') ?? '', /Bearer/);
        const body = await json(res);
        assert.equal(body.code, 'unauthorized');
        assert.match(body.error, reason);
      }
    }
  });

  test('a role that does not fit gets 403', async () => {
    let res = await postLogs(s.url, [{ message: 'x' }], bearer(tok['acme-read']!));
    assert.equal(res.status, 403);
    assert.match((await json(res)).error, /role "read"/);
    res = await fetch(`${s.url}/api/v1/query`, { headers: bearer(tok['acme-ingest']!) });
    assert.equal(res.status, 403);
  });

  test('Basic auth with the token as password works (what Loki and Elasticsearch clients send)', async () => {
    const basic = Buffer.from(`acme:${tok['acme-read']}`).toString('base64');
    const res = await fetch(`${s.url}/api/v1/query?from=now-1h`, { headers: { authorization: `Basic ${basic}` } });
    assert.equal(res.status, 200);
  });

  for (const [tenant, other] of [['acme', 'globex'], ['globex', 'acme']]) {
    test(`${tenant} never sees ${other}'s records: query, stats, field values, field names, system summary`, async () => {
      const h = bearer(tok[`${tenant}-read`]!);
      const q = await json(await fetch(`${s.url}/api/v1/query?from=now-1h&limit=1000`, { headers: h }));
      assert.equal(q.records.length, 2);
      assert.ok(q.records.every((r: any) => r.tenant === tenant && r.host === `host-${tenant}`));
      const needle = await json(await fetch(`${s.url}/api/v1/query?q=${encodeURIComponent(`"secret of ${other}"`)}&from=now-1h`, { headers: h }));
      assert.equal(needle.records.length, 0);
      const stats = await json(await fetch(`${s.url}/api/v1/stats?from=now-1h&by=host`, { headers: h }));
      const total = stats.buckets.reduce((a: number, b: any) => a + b.count, 0);
      assert.equal(total, 2);
      assert.ok(stats.buckets.every((b: any) => Object.keys(b.groups).every((g) => g === `host-${tenant}`)));
      for (const field of ['host', 'service', 'tenant', 'message']) {
        const values = await json(await fetch(`${s.url}/api/v1/fields/${field}/values?from=now-1h`, { headers: h }));
        assert.ok(values.values.every((v: any) => !String(v.value).includes(other)), `${field}: ${JSON.stringify(values.values)}`);
      }
      const admin = await json(await fetch(`${s.url}/api/v1/query?from=now-1h&limit=1000`, { headers: bearer(tok[`${tenant}-admin`]!) }));
      assert.ok(admin.records.every((r: any) => r.tenant === tenant));
      const fields = await json(await fetch(`${s.url}/api/v1/fields?from=now-1h`, { headers: h }));
      assert.deepEqual(fields.fields.filter((f: any) => f.kind === 'attr').map((f: any) => f.name), [`attrs.only_${tenant}`]);
      const system = await json(await fetch(`${s.url}/api/v1/system`, { headers: h }));
      assert.equal(system.tenant, tenant);
      assert.deepEqual(system.ingest.map((r: any) => [r.source, r.records_total]), [['http', 2]]);
      assert.equal(system.storage.rows, 2);
    });
  }

  test('health and metrics need no token', async () => {
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${s.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${s.url}/metrics`)).status, 200);
  });
});

test('open mode is refused on a non-loopback address', async () => {
  await assert.rejects(startTestServer({ server: { listen: '0.0.0.0:0' }, auth: { mode: 'open' } }), /only allowed on a loopback address/);
});
