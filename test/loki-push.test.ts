/** POST /loki/api/v1/push end to end: real Loki clients, protobuf bodies, tenancy, limits, bad input. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import protobuf from 'protobufjs';
import { compressSync } from 'snappy';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import pino from 'pino';
import pinoLoki from 'pino-loki';
import { TokenStore } from '../src/auth/tokens.ts';
import { json, query, startTestServer, type TestServer } from './helpers/server.ts';

const FROM = { from: '2000-01-01T00:00:00Z' };
const PushRequest = protobuf
  .parse(readFileSync(new URL('../src/sources/loki/push.proto', import.meta.url), 'utf8'), { keepCase: true })
  .root.lookupType('logproto.PushRequest');

interface PbStream {
  labels: string;
  entries: { timestamp?: { seconds: number; nanos: number }; line: string; structuredMetadata?: { name: string; value: string }[] }[];
}
function protobufBody(streams: PbStream[]): Buffer {
  return compressSync(Buffer.from(PushRequest.encode(PushRequest.create({ streams })).finish()));
}

function push(url: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...headers }, body });
}

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

describe('Loki push', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ ingest: { max_line_bytes: 1024, max_body_bytes: '256KiB' }, sources: { loki: { max_labels: 8 } } });
  });
  after(() => s.stop());

  test('protobuf + snappy: labels and structured metadata map to fields and attrs; 204 once queryable', async () => {
    const res = await push(
      s.url,
      protobufBody([
        {
          labels: '{host="web-1", unit="nginx.service", service_name="shop", level="error", env="prod"}',
          entries: [
            { timestamp: { seconds: 1714557600, nanos: 123456789 }, line: 'pb first line', structuredMetadata: [{ name: 'trace_id', value: 'abc123' }, { name: 'user', value: 'ann' }] },
            { timestamp: { seconds: 1714557601, nanos: 0 }, line: 'pb second line\nwith a newline' },
          ],
        },
        { labels: '{job="varlogs"}', entries: [{ timestamp: { seconds: 1714557602, nanos: 5 }, line: 'pb job line' }] },
      ]),
    );
    assert.equal(res.status, 204);
    assert.equal(await res.text(), '');
    const { body } = await query(s.url, { q: '"pb"', ...FROM, order: 'asc' });
    assert.equal(body.records.length, 3);
    const [a, b, c] = body.records;
    assert.equal(a.ts, '2024-05-01T10:00:00.123456789Z');
    assert.deepEqual([a.host, a.unit, a.service, a.level, a.trace_id, a.attrs], ['web-1', 'nginx.service', 'shop', 'err', 'abc123', { env: 'prod', user: 'ann' }]);
    assert.equal(b.message, 'pb second line\nwith a newline');
    assert.deepEqual([c.service, c.attrs, c.ts_ns], ['varlogs', { job: 'varlogs' }, '1714557602000000005']);
  });

  test('JSON and gzip JSON bodies', async () => {
    const doc = {
      streams: [
        { stream: { hostname: 'db-1', service: 'pg', detected_level: 'warn' }, values: [['1714557600000000001', 'json line one'], ['1714557600000000002', 'json line two', { span_id: 's9', region: 'eu' }]] },
      ],
    };
    let res = await push(s.url, JSON.stringify(doc), { 'content-type': 'application/json' });
    assert.equal(res.status, 204);
    res = await push(s.url, gzipSync(JSON.stringify({ streams: [{ stream: { app: 'gz' }, values: [['1714557600000000003', 'json gzipped line']] }] })), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    assert.equal(res.status, 204);
    const { body } = await query(s.url, { q: '"json"', ...FROM, order: 'asc' });
    assert.equal(body.records.length, 3);
    assert.deepEqual(
      body.records.map((r: any) => [r.host, r.service, r.level, r.span_id, r.ts_ns]),
      [
        ['db-1', 'pg', 'warning', null, '1714557600000000001'],
        ['db-1', 'pg', 'warning', 's9', '1714557600000000002'],
        ['', 'gz', 'info', null, '1714557600000000003'],
      ],
    );
    assert.deepEqual(body.records[1].attrs, { region: 'eu' });
  });

  test('winston-loki (protobuf + snappy) ships to Cairn unchanged', async () => {
    const errors: Error[] = [];
    const transport = new LokiTransport({
      host: s.url,
      labels: { service_name: 'winston-app', host: 'winston-host' },
      json: false,
      batching: true,
      interval: 0.2,
      onConnectionError: (err: unknown) => errors.push(err as Error),
    });
    assert.equal((transport as any).batcher.contentType, 'application/x-protobuf', 'winston-loki must be sending protobuf here (snappy is installed)');
    const logger = winston.createLogger({ transports: [transport] });
    logger.info('winston info line');
    logger.error('winston error line');
    await transport.flush();
    logger.close();
    assert.deepEqual(errors, []);
    const { body } = await query(s.url, { q: 'winston', ...FROM, order: 'asc' });
    assert.equal(body.records.length, 2);
    assert.deepEqual(
      body.records.map((r: any) => [r.service, r.host, r.level]),
      [
        ['winston-app', 'winston-host', 'info'],
        ['winston-app', 'winston-host', 'err'],
      ],
    );
  });

  test('pino-loki (JSON) ships to Cairn unchanged, with structured metadata', async () => {
    const stream = pinoLoki({ host: s.url, batching: { interval: 60 }, labels: { service_name: 'pino-app' }, structuredMetaKey: 'meta' });
    const logger = pino({ base: { hostname: 'pino-host' } }, stream);
    logger.warn({ meta: { request_id: 'r-1' } }, 'pino warn line');
    logger.info('pino info line');
    const closed = new Promise((resolve) => stream.on('close', resolve));
    stream.end();
    await closed;
    const { body } = await query(s.url, { q: 'pino', ...FROM, order: 'asc' });
    assert.equal(body.records.length, 2);
    const warn = body.records.find((r: any) => r.level === 'warning');
    assert.ok(warn, JSON.stringify(body.records));
    assert.deepEqual([warn.service, warn.host, warn.attrs.request_id], ['pino-app', 'pino-host', 'r-1']);
    assert.match(warn.message, /"msg":"pino warn line"/);
  });

  test('bad bodies: 400/413/415 naming the problem, counted, nothing stored', async () => {
    const before = (await query(s.url, { ...FROM, limit: '1000' })).body.records.length;
    const valid = protobufBody([{ labels: '{a="b"}', entries: [{ line: 'never stored' }] }]);
    const cases: [Buffer | string, Record<string, string>, number, RegExp][] = [
      [Buffer.from('garbage data, not snappy at all'), {}, 400, /not valid snappy-compressed data/],
      [valid.subarray(0, valid.length - 3), {}, 400, /snappy/],
      [compressSync(randomBytes(3000)), {}, 400, /not a Loki PushRequest/],
      [protobufBody([{ labels: 'job=x', entries: [{ line: 'x' }] }]), {}, 400, /streams\[0\]: stream labels "job=x": expected "\{"/],
      [protobufBody([{ labels: '{a="1",b="2",c="3",d="4",e="5",f="6",g="7",h="8",i="9"}', entries: [{ line: 'x' }] }]), {}, 400, /more than 8 labels/],
      [Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), {}, 413, /decompresses to 4294967295 bytes/],
      [Buffer.alloc(300 * 1024, 1), {}, 413, /./],
      ['{"streams": [', { 'content-type': 'application/json' }, 400, /not valid JSON/],
      ['{"nostreams": []}', { 'content-type': 'application/json' }, 400, /"streams" array/],
      ['{"streams":[{"stream":{"a":"b"},"values":[[1714557600, "x"]]}]}', { 'content-type': 'application/json' }, 400, /values\[0\]\[0\]: the timestamp must be a string of nanoseconds/],
      ['{"streams":[{"stream":{"a":1},"values":[]}]}', { 'content-type': 'application/json' }, 400, /stream\.a: must be a string/],
      [gzipSync(Buffer.alloc(1024 * 1024, 'a')), { 'content-type': 'application/json', 'content-encoding': 'gzip' }, 413, /decompresses to more than/],
      ['hello', { 'content-type': 'text/plain' }, 415, /not a Loki push body/],
    ];
    for (const [body, headers, status, message] of cases) {
      const res = await push(s.url, body, headers);
      assert.equal(res.status, status, `${message}: ${res.status}`);
      assert.match((await json(res)).error, message);
    }
    assert.equal((await query(s.url, { ...FROM, limit: '1000' })).body.records.length, before);
    const text = await metricsText(s.url);
    for (const reason of ['corrupt_body', 'invalid_push', 'invalid_json', 'body_too_large', 'unsupported_media_type']) {
      assert.match(text, new RegExp(`log_errors_total\\{source="loki",tenant="default",reason="${reason}"\\} [1-9]`), reason);
    }
  });

  test('a line over max_line_bytes is refused (400 naming it) while the rest of the push is stored', async () => {
    const res = await push(s.url, protobufBody([{ labels: '{a="b"}', entries: [{ line: 'x'.repeat(2000) }, { line: 'short partial line' }] }]));
    assert.equal(res.status, 400);
    assert.match((await json(res)).error, /1 of 2 entries were refused \(a line is longer than 1024 bytes.*the other 1 were stored/);
    assert.equal((await query(s.url, { q: '"short partial line"', ...FROM })).body.records.length, 1);
    assert.match(await metricsText(s.url), /source="loki",tenant="default",reason="line_too_long"\} 1/);
  });

  test('random and truncated frames on many connections: no crash, other pushes unaffected', async () => {
    const valid = protobufBody([{ labels: '{fuzz="ok"}', entries: [{ line: 'survivor line' }] }]);
    const junk: Promise<number>[] = [];
    for (let i = 0; i < 60; i++) {
      const cut = valid.subarray(0, Math.floor(Math.random() * valid.length));
      const body = i % 3 === 0 ? randomBytes(Math.floor(Math.random() * 5000)) : i % 3 === 1 ? cut : compressSync(randomBytes(200));
      junk.push(push(s.url, body).then((r) => r.status));
    }
    const ok = await push(s.url, valid);
    assert.equal(ok.status, 204);
    for (const status of await Promise.all(junk)) assert.ok(status === 400 || status === 413 || status === 204, String(status));
    assert.equal((await query(s.url, { q: '"survivor line"', ...FROM })).body.records.length, 1);
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
  });
});

describe('Loki push: tenancy and backpressure', () => {
  test('the tenant comes from the token (Bearer or Basic password), never from labels', async () => {
    const s = await startTestServer({ auth: { mode: 'token' } });
    try {
      const token = new TokenStore(s.dataDir).create({ tenant: 'acme', role: 'ingest' }).token;
      const reader = new TokenStore(s.dataDir).create({ tenant: 'acme', role: 'read' }).token;
      await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the token file at most once a second
      const body = () => protobufBody([{ labels: '{tenant="globex", tenant_id="globex"}', entries: [{ line: 'tenant line' }] }]);
      assert.equal((await push(s.url, body())).status, 401);
      assert.equal((await push(s.url, body(), { authorization: `Bearer ${reader}` })).status, 403);
      assert.equal((await push(s.url, body(), { authorization: `Bearer ${token}` })).status, 204);
      const basic = Buffer.from(`acme:${token}`).toString('base64');
      assert.equal((await push(s.url, body(), { authorization: `Basic ${basic}` })).status, 204);
      const { body: result } = await query(s.url, { q: '"tenant line"', ...FROM }, { authorization: `Bearer ${reader}` });
      assert.equal(result.records.length, 2);
      for (const r of result.records) assert.deepEqual([r.tenant, r.attrs.tenant], ['acme', 'globex']);
      const text = await metricsText(s.url);
      assert.match(text, /log_processed_total\{source="loki",tenant="acme"\} 2/);
      assert.doesNotMatch(text, /tenant="globex"/);
    } finally {
      await s.stop();
    }
  });

  test('over the tenant rate: 429 with Retry-After, nothing stored', async () => {
    const s = await startTestServer({ ingest: { tenant_rate_limit: 5, tenant_burst: 5 } });
    try {
      const entries = Array.from({ length: 5 }, (_, i) => ({ line: `rate ${i}` }));
      assert.equal((await push(s.url, protobufBody([{ labels: '{a="b"}', entries }]))).status, 204);
      const res = await push(s.url, protobufBody([{ labels: '{a="b"}', entries }]));
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      assert.equal((await json(res)).code, 'rate_limited');
      assert.equal((await query(s.url, { q: 'rate', ...FROM })).body.records.length, 5);
    } finally {
      await s.stop();
    }
  });
});
