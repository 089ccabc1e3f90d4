/**
 * GET /api/v1/related: a Windows event and Linux lines of the same request
 * meet through their correlation id (the Windows ActivityID in braces and
 * upper case, the Linux request id in lower case, made one by the enrich
 * stage), a trace id ranks above it, neighbours on the same host come last,
 * other tenants never appear.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { json, postLogs, query, startTestServer } from './helpers/server.ts';

const GUID = '8F2C1A4E-7B3D-4C2A-9E1F-0A1B2C3D4E5F';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

test('records of one request across Windows and Linux, ranked with reasons; tenant-scoped', async () => {
  const server = await startTestServer({ auth: { mode: 'token' }, pipeline: { stages: { ids: { type: 'enrich' } } } });
  try {
    const tokens = server.auth.tokens;
    const acme = { authorization: `Bearer ${tokens.create({ tenant: 'acme', role: 'admin', name: 'a' }).token}` };
    const other = { authorization: `Bearer ${tokens.create({ tenant: 'other', role: 'admin', name: 'o' }).token}` };
    const at = (s: number) => new Date(Date.parse('2026-03-01T12:00:00Z') + s * 1000).toISOString();
    const res = await postLogs(
      server.url,
      [
        { ts: at(0), host: 'WIN-WEB01', os: 'windows', unit: 'IIS', message: 'POST /checkout 500', attrs: { EventData: { CorrelationId: `{${GUID}}` } } },
        { ts: at(2), host: 'pay-1', os: 'linux', unit: 'payments', message: `charge failed request_id=${GUID.toLowerCase()}`, trace_id: TRACE },
        { ts: at(1), host: 'api-1', os: 'linux', unit: 'api', message: 'calling payments', trace_id: TRACE, correlation_id: GUID.toLowerCase() },
        { ts: at(1800), host: 'db-1', os: 'linux', unit: 'postgres', message: 'slow query', correlation_id: GUID.toLowerCase() },
        { ts: at(5), host: 'WIN-WEB01', os: 'windows', unit: 'IIS', message: 'GET /health 200' },
        { ts: at(120), host: 'WIN-WEB01', os: 'windows', unit: 'IIS', message: 'GET /later 200' },
        { ts: at(7200), host: 'db-2', os: 'linux', unit: 'postgres', message: 'outside the window', correlation_id: GUID.toLowerCase() },
      ],
      acme,
    );
    assert.equal(res.status, 200, await res.text());
    assert.equal((await postLogs(server.url, [{ ts: at(1), host: 'WIN-WEB01', message: 'other tenant', correlation_id: GUID.toLowerCase() }], other)).status, 200);

    const { body } = await query(server.url, { q: 'unit:api', from: at(-60), to: at(60) }, acme);
    const apiId = body.records[0].id;
    const related = await json(await fetch(`${server.url}/api/v1/related?id=${apiId}`, { headers: acme }));
    assert.equal(related.record.host, 'api-1');
    const summary = related.related.map((r: { record: { host: string; message: string }; reason: string }) => `${r.reason}: ${r.record.host} ${r.record.message}`);
    assert.deepEqual(summary, [
      `same trace_id: pay-1 charge failed request_id=${GUID.toLowerCase()}`,
      'same correlation_id: WIN-WEB01 POST /checkout 500',
      'same correlation_id: db-1 slow query',
    ]);
    const scores = related.related.map((r: { score: number }) => r.score);
    assert.deepEqual([...scores].sort((a, b) => b - a), scores, 'ranked by score');
    assert.ok(scores[0] > 2 && scores[1] > 1 && scores[1] < 2);

    const { body: win } = await query(server.url, { q: 'unit:IIS checkout', from: at(-60), to: at(60) }, acme);
    const fromWindows = await json(await fetch(`${server.url}/api/v1/related?id=${win.records[0].id}&window=10`, { headers: acme }));
    assert.equal(fromWindows.record.correlation_id, GUID.toLowerCase(), 'the Windows form of the GUID was normalized');
    const reasons = fromWindows.related.map((r: { reason: string; record: { host: string; os: string } }) => `${r.reason} ${r.record.os} ${r.record.host}`);
    assert.deepEqual(reasons, ['same correlation_id linux api-1', 'same correlation_id linux pay-1', 'same correlation_id linux db-1', 'same host within ±10s windows WIN-WEB01']);

    const denied = await fetch(`${server.url}/api/v1/related?id=${apiId}`, { headers: other });
    assert.equal(denied.status, 404, 'another tenant cannot see the record');
    assert.equal((await fetch(`${server.url}/api/v1/related?id=nothex`, { headers: acme })).status, 400);
    assert.equal((await fetch(`${server.url}/api/v1/related?id=${apiId}&window=999999`, { headers: acme })).status, 400);
    assert.equal((await fetch(`${server.url}/api/v1/related?id=${apiId}`)).status, 401);
  } finally {
    await server.stop();
  }
});
