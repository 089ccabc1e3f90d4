/** The Elasticsearch-compatible API end to end: the official client, shippers' handshakes, tenancy, limits, bad input. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { Client, errors } from '@elastic/elasticsearch';
import { TokenStore } from '../src/auth/tokens.ts';
import { json, query, startTestServer, type TestServer } from './helpers/server.ts';

const FROM = { from: '2000-01-01T00:00:00Z' };
const ndjson = (lines: unknown[]) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';

function bulk(url: string, body: string | Buffer, headers: Record<string, string> = {}, path = '/_bulk'): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...headers }, body });
}

async function count(url: string, q: string): Promise<number> {
  return (await query(url, { q, ...FROM, limit: '10000' })).body.records.length;
}

describe('Elasticsearch _bulk', () => {
  let s: TestServer;
  let client: Client;
  before(async () => {
    s = await startTestServer({ ingest: { max_line_bytes: 2048, max_body_bytes: '256KiB' }, sources: { elastic: { max_actions: 5000 } } });
    client = new Client({ node: s.url });
  });
  after(async () => {
    await client.close();
    await s.stop();
  });

  test('the official client connects (product check) and client.bulk gets per-item results in ES shape', async () => {
    const info = await client.info();
    assert.equal(info.version.number, '8.17.0');
    assert.equal(info.tagline, 'You Know, for Search');
    const res = await client.bulk({
      index: 'default-idx',
      operations: [
        { index: { _index: 'logs-nginx' } },
        { '@timestamp': '2024-05-01T10:00:00.123Z', message: 'es bulk first', 'log.level': 'warn', host: { name: 'web-1', os: { type: 'linux' } }, service: { name: 'shop' }, event: { dataset: 'nginx.access' } },
        { create: { _id: 'client-id-7' } },
        { message: 'es bulk second', process: { name: 'cron' } },
        { delete: { _index: 'logs-nginx', _id: 'x' } },
        { update: { _index: 'logs-nginx', _id: 'x' } },
        { doc: { message: 'changed' } },
        { index: {} },
        { '@timestamp': 'not a time', message: 'es bulk bad time' },
      ],
    });
    assert.equal(res.errors, true);
    assert.equal(res.items.length, 5);
    const [first, second, del, upd, bad] = res.items;
    assert.equal(first!.index!.status, 201);
    assert.equal(first!.index!.result, 'created');
    assert.equal(first!.index!._index, 'logs-nginx');
    assert.equal(second!.create!.status, 201);
    assert.equal(second!.create!._id, 'client-id-7');
    assert.equal(second!.create!._index, 'default-idx');
    assert.equal(del!.delete!.status, 400);
    assert.match(del!.delete!.error!.reason!, /append-only: the delete action/);
    assert.equal(upd!.update!.status, 400);
    assert.equal(bad!.index!.status, 400);
    assert.equal(bad!.index!.error!.type, 'document_parsing_exception');
    assert.match(bad!.index!.error!.reason!, /@timestamp: not a timestamp/);

    const { body } = await query(s.url, { q: '"es bulk"', ...FROM, order: 'asc' });
    assert.equal(body.records.length, 2);
    const a = body.records.find((r: any) => r.message === 'es bulk first');
    assert.equal(a.id, first!.index!._id, 'the _id answered is the Cairn record id');
    assert.deepEqual(
      [a.ts, a.level, a.host, a.os, a.service, a.attrs],
      ['2024-05-01T10:00:00.123000000Z', 'warning', 'web-1', 'linux', 'shop', { host: { os: { type: 'linux' } }, event: { dataset: 'nginx.access' }, _index: 'logs-nginx' }],
    );
    const b = body.records.find((r: any) => r.message === 'es bulk second');
    assert.deepEqual([b.unit, b.attrs._id, b.attrs._index], ['cron', 'client-id-7', 'default-idx']);
  });

  test('client.helpers.bulk sends a few thousand documents, every one acknowledged and stored', async () => {
    const docs = Array.from({ length: 3000 }, (_, i) => ({ '@timestamp': new Date(Date.UTC(2024, 4, 1) + i).toISOString(), message: `helper doc ${i}`, seq: i }));
    const dropped: unknown[] = [];
    const stats = await client.helpers.bulk({
      datasource: docs,
      onDocument: () => ({ create: { _index: 'logs-helper-default' } }),
      onDrop: (d) => dropped.push(d),
      flushBytes: 40_000,
      concurrency: 3,
    });
    assert.deepEqual(dropped, []);
    assert.deepEqual([stats.total, stats.successful, stats.failed], [3000, 3000, 0]);
    assert.equal(await count(s.url, '"helper doc"'), 3000);
  });

  test("shippers' handshake endpoints answer plausibly, with X-Elastic-Product", async () => {
    const calls: [string, string, number][] = [
      ['GET', '/', 200],
      ['HEAD', '/', 200],
      ['GET', '/_license?human=false', 200],
      ['GET', '/_xpack', 200],
      ['GET', '/_cluster/health', 200],
      ['HEAD', '/_index_template/filebeat-8.17.0', 200],
      ['GET', '/_index_template/filebeat-8.17.0', 200],
      ['PUT', '/_index_template/filebeat-8.17.0', 200],
      ['HEAD', '/_template/logstash', 200],
      ['PUT', '/_template/logstash', 200],
      ['GET', '/_ilm/policy/filebeat', 200],
      ['PUT', '/_ilm/policy/filebeat', 200],
      ['GET', '/_ingest/pipeline/filebeat-8.17.0-nginx-access-pipeline', 200],
      ['PUT', '/_ingest/pipeline/filebeat-8.17.0-nginx-access-pipeline', 200],
      ['GET', '/_data_stream/logs-generic-default', 200],
      ['HEAD', '/logstash', 200],
      ['PUT', '/%3Clogstash-%7Bnow%2Fd%7D-000001%3E', 200],
    ];
    for (const [method, path, status] of calls) {
      const res = await fetch(`${s.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'PUT' ? '{"index_patterns":["x-*"]}' : undefined });
      assert.equal(res.status, status, `${method} ${path}`);
      assert.equal(res.headers.get('x-elastic-product'), 'Elasticsearch', `${method} ${path}`);
      if (method !== 'HEAD') assert.equal(typeof (await json(res)), 'object');
    }
    const xpack = await json(await fetch(`${s.url}/_xpack`));
    assert.deepEqual(xpack.features.ilm, { available: true, enabled: true });
    assert.equal((await json(await fetch(`${s.url}/_license`))).license.status, 'active');
    assert.equal((await json(await fetch(`${s.url}/_cluster/health`))).status, 'green');
  });

  test('a browser asking for a page at / or /{name} is not answered by the Elasticsearch API (the UI is)', async () => {
    for (const path of ['/', '/explore']) {
      const page = await fetch(`${s.url}${path}`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
      assert.equal(page.headers.get('x-elastic-product'), null, path);
      const api = await fetch(`${s.url}${path}`, { headers: { accept: 'application/json' } });
      assert.equal(api.status, 200, path);
      assert.equal(api.headers.get('x-elastic-product'), 'Elasticsearch', path);
    }
  });

  test('Beats-style gzip bulk with filter_path, Fluent Bit-style _type, and the URL index', async () => {
    let res = await bulk(s.url, gzipSync(ndjson([{ create: { _index: 'filebeat-8.17.0' } }, { '@timestamp': '2024-05-01T10:00:00Z', message: 'gzipped beat line' }])), { 'content-encoding': 'gzip' }, '/_bulk?filter_path=errors,items.*.error,items.*.status');
    assert.equal(res.status, 200);
    assert.equal((await json(res)).errors, false);
    res = await bulk(s.url, ndjson([{ index: { _type: '_doc' } }, { '@timestamp': '2024-05-01T10:00:00Z', log: 'fluent bit line', stream: 'stderr' }]), {}, '/fluentbit/_bulk');
    const body = await json(res);
    assert.equal(body.errors, false);
    assert.equal(body.items[0].index._index, 'fluentbit');
    res = await bulk(s.url, ndjson([{ index: {} }, { message: 'no index anywhere' }]));
    const noIndex = await json(res);
    assert.equal(noIndex.items[0].index.status, 400);
    assert.match(noIndex.items[0].index.error.reason, /index is missing/);
    assert.equal(await count(s.url, '"gzipped beat line" OR "fluent bit line"'), 2);
  });

  test('whole-request refusals in ES error shape: malformed lines, content type, sizes, corrupt gzip', async () => {
    const before = await count(s.url, 'refusal');
    const cases: [string | Buffer, Record<string, string>, number, string, RegExp, string?][] = [
      [ndjson([{ index: {} }, { message: 'refusal a' }, 'not json at all', { message: 'x' }]), {}, 400, 'illegal_argument_exception', /Malformed action\/metadata line \[3\]: not JSON/],
      [ndjson([{ index: {} }, { message: 'refusal b' }, { frobnicate: {} }, {}]), {}, 400, 'illegal_argument_exception', /expected one of \[create, delete, index, update\] but found \[frobnicate\]/],
      ['{"index":{}}\n', {}, 400, 'illegal_argument_exception', /not followed by a document line/],
      [ndjson([{ index: {} }, { message: 'refusal c' }]), { 'content-type': 'application/x-www-form-urlencoded' }, 406, 'media_type_header_exception', /Content-Type header \[application\/x-www-form-urlencoded\] is not supported/],
      ['x'.repeat(300 * 1024), {}, 413, 'content_too_long_exception', /./],
      [gzipSync(Buffer.alloc(2 * 1024 * 1024, ' ')), { 'content-encoding': 'gzip' }, 413, 'content_too_long_exception', /decompresses to more than/],
      [Buffer.from('definitely not gzip'), { 'content-encoding': 'gzip' }, 400, 'x_content_parse_exception', /not valid gzip/],
      [ndjson(Array.from({ length: 5001 }, () => [{ index: { _index: 'i' } }, { message: 'refusal d' }]).flat()).slice(0, 250_000), {}, 413, 'content_too_long_exception', /more than 5000 actions/],
    ];
    for (const [body, headers, status, type, reason] of cases) {
      const res = await bulk(s.url, body, headers);
      assert.equal(res.status, status, String(reason));
      assert.equal(res.headers.get('x-elastic-product'), 'Elasticsearch');
      const b = await json(res);
      assert.equal(b.status, status);
      assert.equal(b.error.type, type, String(reason));
      assert.match(b.error.reason, reason);
      assert.deepEqual(b.error.root_cause, [{ type: b.error.type, reason: b.error.reason }]);
    }
    assert.equal(await count(s.url, 'refusal'), before, 'nothing of a refused request is stored');
  });

  test('oversized documents are per-item errors; random and truncated bodies never hurt other requests', async () => {
    const res = await bulk(s.url, ndjson([{ index: { _index: 'i' } }, { message: 'y'.repeat(3000) }, { index: { _index: 'i' } }, { message: 'fits fine' }]));
    const body = await json(res);
    assert.deepEqual(body.items.map((i: any) => i.index.status), [400, 201]);
    assert.match(body.items[0].index.error.reason, /larger than 2048 bytes/);
    const valid = ndjson([{ index: { _index: 'fuzz' } }, { message: 'fuzz survivor' }]);
    const junk: Promise<number>[] = [];
    for (let i = 0; i < 60; i++) {
      const payload = i % 2 === 0 ? randomBytes(Math.floor(Math.random() * 4000)) : Buffer.from(valid.slice(0, Math.floor(Math.random() * (valid.length - 2))));
      junk.push(bulk(s.url, payload).then((r) => r.status));
    }
    assert.equal((await bulk(s.url, valid)).status, 200);
    for (const status of await Promise.all(junk)) assert.ok([200, 400].includes(status), String(status));
    assert.equal(await count(s.url, '"fuzz survivor"'), 1);
    const text = await (await fetch(`${s.url}/metrics`)).text();
    for (const reason of ['unsupported_action', 'invalid_bulk', 'line_too_long', 'invalid_record', 'unsupported_media_type', 'body_too_large', 'corrupt_body']) {
      assert.match(text, new RegExp(`log_errors_total\\{source="elastic",tenant="default",reason="${reason}"\\} [1-9]`), reason);
    }
    assert.match(text, /log_processed_total\{source="elastic",tenant="default"\} [1-9]/);
    assert.match(text, /log_received_bytes_total\{source="elastic",tenant="default"\} [1-9]/);
  });
});

describe('Elasticsearch API: tenancy, backpressure, mount point', () => {
  test('tenant from the token (Basic password or Bearer); 401 in ES shape without one', async () => {
    const s = await startTestServer({ auth: { mode: 'token' } });
    try {
      const store = new TokenStore(s.dataDir);
      const token = store.create({ tenant: 'acme', role: 'ingest' }).token;
      const reader = store.create({ tenant: 'acme', role: 'read' }).token;
      await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the token file at most once a second
      const anonymous = new Client({ node: s.url });
      await assert.rejects(anonymous.info(), (err: unknown) => err instanceof errors.ResponseError && err.statusCode === 401);
      await anonymous.close();
      const res = await fetch(`${s.url}/`);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="cairn"/);
      assert.equal((await json(res)).error.type, 'security_exception');

      const beat = new Client({ node: s.url, auth: { username: 'filebeat', password: token } });
      await beat.bulk({ operations: [{ index: { _index: 'x' } }, { message: 'basic tenant line', tenant: 'globex' }] });
      await beat.close();
      const app = new Client({ node: s.url, auth: { bearer: token } });
      await app.bulk({ operations: [{ index: { _index: 'x' } }, { message: 'bearer tenant line' }] });
      await app.close();
      const { body } = await query(s.url, { q: '"tenant line"', ...FROM }, { authorization: `Bearer ${reader}` });
      assert.equal(body.records.length, 2);
      for (const r of body.records) assert.equal(r.tenant, 'acme');
      const text = await (await fetch(`${s.url}/metrics`)).text();
      assert.match(text, /log_processed_total\{source="elastic",tenant="acme"\} 2/);
    } finally {
      await s.stop();
    }
  });

  test('over the tenant rate: the whole request gets 429 es_rejected_execution_exception with Retry-After', async () => {
    const s = await startTestServer({ ingest: { tenant_rate_limit: 5, tenant_burst: 5 } });
    try {
      const body = ndjson(Array.from({ length: 5 }, (_, i) => [{ index: { _index: 'r' } }, { message: `rate ${i}` }]).flat());
      assert.equal((await bulk(s.url, body)).status, 200);
      const res = await bulk(s.url, body);
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      const b = await json(res);
      assert.deepEqual([b.status, b.error.type], [429, 'es_rejected_execution_exception']);
      assert.equal(await count(s.url, 'rate'), 5);
    } finally {
      await s.stop();
    }
  });

  test('path_prefix mounts the API elsewhere (a client with a path in its node URL)', async () => {
    const s = await startTestServer({ sources: { elastic: { path_prefix: '/es' } } });
    try {
      const client = new Client({ node: `${s.url}/es` });
      assert.equal((await client.info()).version.number, '8.17.0');
      await client.bulk({ operations: [{ index: { _index: 'p' } }, { message: 'prefixed line' }] });
      await client.close();
      assert.equal(await count(s.url, '"prefixed line"'), 1);
      assert.equal((await fetch(`${s.url}/`)).status, 404);
    } finally {
      await s.stop();
    }
  });
});
