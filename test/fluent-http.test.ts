/** POST /api/v1/fluent: the bodies Fluent Bit's and Fluentd's http outputs post, as they post them. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { TokenStore } from '../src/auth/tokens.ts';
import { json, query, startTestServer, type TestServer } from './helpers/server.ts';
import { entry, eventTime, pack } from './helpers/forward.ts';

const FROM = { from: '2015-01-01T00:00:00Z', order: 'asc', limit: '1000' };

describe('Fluent HTTP outputs → /api/v1/fluent', () => {
  let s: TestServer;
  let ingest: string;
  let read: string;
  before(async () => {
    s = await startTestServer({ auth: { mode: 'token' }, ingest: { max_line_bytes: 1024 } });
    const store = new TokenStore(s.dataDir);
    ingest = store.create({ tenant: 'acme', role: 'ingest' }).token;
    read = store.create({ tenant: 'acme', role: 'read' }).token;
    await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the token file at most once a second
  });
  after(() => s.stop());

  const basic = () => `Basic ${Buffer.from(`fluent:${ingest}`).toString('base64')}`;
  const find = async (q: string) => (await query(s.url, { q, ...FROM }, { authorization: `Bearer ${read}` })).body.records;

  test('Fluent Bit format json: an array of records with "date" (epoch float), Basic auth, tag header, gzip', async () => {
    const body = JSON.stringify([
      { date: 1714557600.25, log: 'fb-json one', level: 'error', kubernetes: { host: 'node-1', container_name: 'api' } },
      { date: 1714557601.5, log: 'fb-json two' },
    ]);
    const res = await fetch(`${s.url}/api/v1/fluent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: basic(), 'x-fluent-tag': 'kube.app' },
      body: gzipSync(body),
    });
    assert.deepEqual(await json(res), { accepted: 2, rejected: 0, errors: [] });
    const records = await find('fb-json');
    assert.deepEqual(
      records.map((r: any) => [r.message, r.ts, r.level, r.host, r.unit, r.attrs.tag, r.tenant]),
      [
        ['fb-json one', '2024-05-01T10:00:00.250000000Z', 'err', 'node-1', 'api', 'kube.app', 'acme'],
        ['fb-json two', '2024-05-01T10:00:01.500000000Z', 'info', '', 'kube.app', undefined, 'acme'],
      ],
    );
  });

  test('Fluent Bit format json_lines (application/x-ndjson) with iso8601 dates, tag in the path', async () => {
    const body = ['{"date":"2024-05-01T10:00:02.000681Z","log":"fb-lines one"}', '{"date":"2024-05-01T10:00:03Z","log":"fb-lines two"}'].join('\n');
    const res = await fetch(`${s.url}/api/v1/fluent/app.lines`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${ingest}` }, body });
    assert.deepEqual(await json(res), { accepted: 2, rejected: 0, errors: [] });
    const records = await find('fb-lines');
    assert.deepEqual(records.map((r: any) => [r.ts, r.unit]), [['2024-05-01T10:00:02.000681000Z', 'app.lines'], ['2024-05-01T10:00:03.000000000Z', 'app.lines']]);
  });

  test("Fluent Bit format msgpack: its [[time, metadata], record] entries; Fluentd's msgpack: bare records", async () => {
    const v2 = Buffer.concat([Buffer.from([0x92, 0x92]), eventTime(1714557604, 7), pack({}), pack({ log: 'fb-msgpack v2' })]);
    const v1 = entry(eventTime(1714557605), { log: 'fb-msgpack v1' });
    let res = await fetch(`${s.url}/api/v1/fluent?tag=bit.msgpack`, { method: 'POST', headers: { 'content-type': 'application/msgpack', authorization: `Bearer ${ingest}` }, body: Buffer.concat([v2, v1]) });
    assert.deepEqual(await json(res), { accepted: 2, rejected: 0, errors: [] });
    res = await fetch(`${s.url}/api/v1/fluent/td.msgpack`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-msgpack', authorization: `Bearer ${ingest}` },
      body: Buffer.concat([pack({ message: 'fd-msgpack bare', time: '2024-05-01T10:00:06Z' }), pack([1, 2, 3])]),
    });
    assert.deepEqual(await json(res), { accepted: 1, rejected: 1, errors: [{ line: 2, reason: 'an entry must be [time, record], got an array of 3' }] });
    const records = await find('fb-msgpack OR fd-msgpack');
    assert.deepEqual(records.map((r: any) => [r.message, r.ts_ns, r.unit]), [
      ['fb-msgpack v2', '1714557604000000007', 'bit.msgpack'],
      ['fb-msgpack v1', '1714557605000000000', 'bit.msgpack'],
      ['fd-msgpack bare', '1714557606000000000', 'td.msgpack'],
    ]);
  });

  test('Fluentd out_http json_array with an injected time key, and ndjson', async () => {
    let res = await fetch(`${s.url}/api/v1/fluent/td.array`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic() },
      body: JSON.stringify([{ message: 'fd-array', time: 1714557607, hostname: 'fd-1' }]),
    });
    assert.deepEqual(await json(res), { accepted: 1, rejected: 0, errors: [] });
    res = await fetch(`${s.url}/api/v1/fluent/td.ndjson`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', authorization: basic() }, body: '{"message":"fd-ndjson"}\n' });
    assert.deepEqual(await json(res), { accepted: 1, rejected: 0, errors: [] });
    const records = await find('fd-array OR fd-ndjson');
    assert.deepEqual(records.map((r: any) => [r.message, r.host, r.unit]).sort(), [['fd-array', 'fd-1', 'td.array'], ['fd-ndjson', '', 'td.ndjson']]);
    assert.equal(records.find((r: any) => r.message === 'fd-array').ts_ns, '1714557607000000000');
  });

  test('no token 401, a wrong type 415, undecodable msgpack 400, an over-long line rejected with its position', async () => {
    let res = await fetch(`${s.url}/api/v1/fluent`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    assert.equal(res.status, 401);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /log_errors_total\{source="fluent_http",tenant="-",reason="unauthorized"\} 1/);
    res = await fetch(`${s.url}/api/v1/fluent`, { method: 'POST', headers: { 'content-type': 'text/csv', authorization: basic() }, body: 'a,b' });
    assert.equal(res.status, 415);
    res = await fetch(`${s.url}/api/v1/fluent`, { method: 'POST', headers: { 'content-type': 'application/msgpack', authorization: basic() }, body: Buffer.from([0x92, 0xd7]) });
    assert.equal(res.status, 400);
    assert.equal((await json(res)).code, 'invalid_msgpack');
    res = await fetch(`${s.url}/api/v1/fluent`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: basic() }, body: JSON.stringify([{ log: 'x'.repeat(2000) }, { log: 'fine' }]) });
    const answer = await json(res);
    assert.equal(answer.accepted, 1);
    assert.deepEqual(answer.errors, [{ line: 1, reason: 'record is longer than 1024 bytes' }]);
  });
});
