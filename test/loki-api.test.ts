/**
 * The Loki HTTP API as Grafana's Loki data source and logcli call it. Grafana
 * itself cannot run here (no Docker; not in Debian), so these are the exact
 * requests its Loki data source sends, taken from its source
 * (pkg/tsdb/loki/healthcheck.go, api.go makeDataRequest, the frontend's
 * LanguageProvider and logs-volume query), against a real server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenStore } from '../src/auth/tokens.ts';
import { json, postLogs, startTestServer, type TestServer } from './helpers/server.ts';

const NS = 1_000_000n;

describe('Loki API', () => {
  let s: TestServer;
  let token: string;
  let otherToken: string;
  let basic: Record<string, string>;
  const now = BigInt(Date.now()) * NS;
  const t0 = now - 600_000n * NS; // ten minutes ago

  before(async () => {
    s = await startTestServer({ auth: { mode: 'token', trusted_proxy: ['127.0.0.1'] }, query: { max_series: 50 } });
    const tokens = new TokenStore(s.dataDir);
    token = tokens.create({ tenant: 'acme', role: 'admin' }).token;
    otherToken = tokens.create({ tenant: 'globex', role: 'admin' }).token;
    await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the token file at most once a second
    // Grafana's data source sends the token as the basic auth password.
    basic = { authorization: `Basic ${Buffer.from(`grafana:${token}`).toString('base64')}` };
    const records = [];
    for (let i = 0; i < 120; i++) {
      const ts = (t0 + BigInt(i) * 5_000n * NS).toString();
      const service = ['api', 'db', 'web'][i % 3]!;
      const message =
        service === 'db'
          ? JSON.stringify({ status: 200 + (i % 4) * 100, path: `/v1/${i % 5}`, user: { id: i % 7 } })
          : `method=GET path=/v1/${i % 5} status=${200 + (i % 4) * 100} duration=${i % 9}ms`;
      records.push({ ts, host: `web-${i % 4}`, service, level: i % 10 === 0 ? 'error' : 'info', message, attrs: { req: { id: i }, tier: i % 2 ? 'gold' : 'free' } });
    }
    const res = await postLogs(s.url, records, { authorization: `Bearer ${token}` });
    assert.equal(res.status, 200, await res.text());
    await postLogs(s.url, [{ ts: t0.toString(), host: 'x', service: 'secret', message: 'globex only' }], { authorization: `Bearer ${otherToken}` });
  });
  after(() => s.stop());

  const get = async (path: string, params: Record<string, string | string[]> = {}, headers: Record<string, string> = {}) => {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) qs.append(k, x);
    const res = await fetch(`${s.url}${path}?${qs}`, { headers: { ...basic, ...headers } });
    return { status: res.status, body: await json(res) };
  };
  const range = () => ({ start: t0.toString(), end: now.toString() });

  test('"Save & test": the health-check query and the older labels check', async () => {
    // pkg/tsdb/loki/healthcheck.go: instant query vector(1)+vector(1), time 4s after the epoch, step 1s.
    const hc = await get('/loki/api/v1/query', { query: 'vector(1)+vector(1)', direction: '', time: '4000000000' });
    assert.equal(hc.status, 200);
    assert.equal(hc.body.status, 'success');
    assert.equal(hc.body.data.resultType, 'vector');
    assert.equal(hc.body.data.result.length, 1);
    assert.equal(Number(hc.body.data.result[0].value[1]), 2);
    // Older Grafana: labels over the last ten minutes.
    const labels = await get('/loki/api/v1/labels', { start: (now - 600_000n * NS).toString(), end: now.toString() });
    assert.equal(labels.body.status, 'success');
    assert.deepEqual(labels.body.data, ['host', 'level', 'os', 'service', 'type']);
    // Status endpoints.
    const build = await get('/loki/api/v1/status/buildinfo');
    assert.match(build.body.version, /^\d+\.\d+\.\d+/);
    const ready = await fetch(`${s.url}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), 'ready\n');
  });

  test('Explore: detected labels, labels, values, series, query size, log lines with categorized labels', async () => {
    const detected = await get('/loki/api/v1/detected_labels', range());
    assert.deepEqual(
      detected.body.detectedLabels.find((l: { label: string }) => l.label === 'service'),
      { label: 'service', cardinality: 3 },
    );
    const values = await get('/loki/api/v1/label/service/values', range());
    assert.deepEqual(values.body.data, ['api', 'db', 'web']);
    const filtered = await get('/loki/api/v1/label/host/values', { ...range(), query: '{service="api", host=~"web-[01]"}' });
    assert.deepEqual(filtered.body.data, ['web-0', 'web-1']);
    const series = await get('/loki/api/v1/series', { 'match[]': ['{service="db", level="err"}', '{service="api", host="web-0"}'], ...range() });
    assert.equal(series.body.status, 'success');
    for (const labels of series.body.data) {
      assert.ok((labels.service === 'db' && labels.level === 'err') || (labels.service === 'api' && labels.host === 'web-0'), JSON.stringify(labels));
      assert.deepEqual(Object.keys(labels), Object.keys(labels).sort());
    }
    const stats = await get('/loki/api/v1/index/stats', { query: '{service="api"}', ...range() });
    assert.equal(stats.body.entries, 40);
    assert.ok(stats.body.bytes > 0 && stats.body.streams > 0);

    // api.go makeDataRequest: range log query, ns start/end, step in ms, limit, direction.
    const logs = await get(
      '/loki/api/v1/query_range',
      { direction: 'backward', limit: '5', query: '{service="db"} | json | status >= 400', ...range(), step: '2000ms' },
      { 'X-Loki-Response-Encoding-Flags': 'categorize-labels', 'X-Query-Tags': 'Source=grafana' },
    );
    assert.equal(logs.status, 200, JSON.stringify(logs.body));
    assert.equal(logs.body.data.resultType, 'streams');
    assert.deepEqual(logs.body.data.encodingFlags, ['categorize-labels']);
    const entries = logs.body.data.result.flatMap((st: { stream: Record<string, string>; values: [string, string, Record<string, Record<string, string>>][] }) =>
      st.values.map((v) => ({ stream: st.stream, ts: BigInt(v[0]), line: v[1], extra: v[2] })),
    );
    assert.equal(entries.length, 5);
    const sorted = [...entries].sort((a, b) => (a.ts > b.ts ? -1 : 1));
    assert.deepEqual(entries.map((e: { ts: bigint }) => e.ts).sort((a: bigint, b: bigint) => (a > b ? -1 : 1)), sorted.map((e) => e.ts));
    for (const e of entries) {
      assert.equal(e.stream.service, 'db');
      assert.ok(!('status' in e.stream), 'parsed labels are not stream labels when categorized');
      assert.ok(Number(e.extra.parsed!.status) >= 400);
      assert.equal(e.extra.structuredMetadata!.tier !== undefined, true);
      assert.match(e.extra.structuredMetadata!.req_id!, /^\d+$/);
    }
    // Without the flag, Loki merges metadata and parsed labels into the stream labels.
    const merged = await get('/loki/api/v1/query_range', { query: '{service="db"} | json | status >= 400', limit: '1', ...range() });
    const stream = merged.body.data.result[0].stream;
    assert.ok(stream.status && stream.tier && stream.req_id && stream.service === 'db', JSON.stringify(stream));
    assert.equal(merged.body.data.result[0].values[0].length, 2);
    assert.ok(merged.body.data.stats.summary);
  });

  test('logs volume and metric panels: matrix with float-second timestamps, string values', async () => {
    // The logs-volume query Grafana adds to a log query (step already interpolated from $__auto).
    const vol = await get('/loki/api/v1/query_range', {
      query: 'sum by (level, detected_level) (count_over_time({service=~".+"} | drop __error__[60s]))',
      ...range(),
      step: '60000ms',
    });
    assert.equal(vol.status, 200, JSON.stringify(vol.body));
    assert.equal(vol.body.data.resultType, 'matrix');
    const byLevel = Object.fromEntries(vol.body.data.result.map((r: { metric: { level: string }; values: [number, string][] }) => [r.metric.level, r.values]));
    assert.deepEqual(Object.keys(byLevel).sort(), ['err', 'info']);
    const total = (vs: [number, string][]) => vs.reduce((a, v) => a + Number(v[1]), 0);
    // Windows of 60 s at a 60 s step partition the range: every line is counted once.
    assert.equal(total(byLevel.err) + total(byLevel.info), 120);
    for (const [t, v] of byLevel.info) {
      assert.equal(typeof t, 'number');
      assert.equal(typeof v, 'string');
    }
    const rate = await get('/loki/api/v1/query', { query: 'sum by (service) (rate({service="api"}[10m]))', time: now.toString() });
    assert.equal(rate.body.data.resultType, 'vector');
    // The window (now - 10m, now] leaves out the first line, exactly 10 minutes old.
    assert.equal(Number(rate.body.data.result[0].value[1]), 39 / 600);
    const top = await get('/loki/api/v1/query', { query: 'topk(2, sum by (host) (count_over_time({service=~"api|web"} | logfmt | status >= 400 [10m])))', time: now.toString() });
    assert.equal(top.body.data.result.length, 2);
    assert.ok(Number(top.body.data.result[0].value[1]) >= Number(top.body.data.result[1].value[1]));
  });

  test('lines pushed over /loki/api/v1/push come back by their labels', async () => {
    const ts = (now - 30_000n * NS).toString();
    const push = await fetch(`${s.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { ...basic, 'content-type': 'application/json' },
      body: JSON.stringify({ streams: [{ stream: { job: 'varlogs', host: 'h1', level: 'error' }, values: [[ts, 'pushed line', { trace_id: 'abc123' }]] }] }),
    });
    assert.equal(push.status, 204);
    const q = await get('/loki/api/v1/query_range', { query: '{job="varlogs", level="error"} |= "pushed"', ...range() }, { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' });
    const [stream] = q.body.data.result;
    assert.equal(stream.stream.host, 'h1');
    assert.equal(stream.stream.service, 'varlogs', 'job names the service when no label does, as in Loki');
    const [[gotTs, line, { structuredMetadata }]] = stream.values;
    assert.deepEqual([gotTs, line], [ts, 'pushed line']);
    assert.equal(structuredMetadata.job, 'varlogs');
    assert.equal(structuredMetadata.trace_id, 'abc123');
    assert.match(structuredMetadata.template_id, /^[0-9a-f]+$/, 'the template miner ran at ingest');
  });

  test('POST with a form body, as Loki accepts for long queries', async () => {
    const body = new URLSearchParams({ query: '{service="api"} |= "status=500"', limit: '3', ...range() });
    const res = await fetch(`${s.url}/loki/api/v1/query_range`, { method: 'POST', headers: { ...basic, 'content-type': 'application/x-www-form-urlencoded' }, body });
    const out = await json(res);
    assert.equal(res.status, 200);
    assert.equal(out.data.result.flatMap((st: { values: unknown[] }) => st.values).length, 3);
    const series = await fetch(`${s.url}/loki/api/v1/series`, { method: 'POST', headers: { ...basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ 'match[]': '{service="web"}', ...range() }) });
    assert.ok((await json(series)).data.every((l: { service: string }) => l.service === 'web'));
  });

  test('errors name the problem in "message" (what Grafana shows) with a 4xx status', async () => {
    const parse = await get('/loki/api/v1/query_range', { query: '{service="api"', ...range() });
    assert.equal(parse.status, 400);
    assert.equal(parse.body.status, 'error');
    assert.match(parse.body.message, /position 14: expected "," or "}"/);
    const unsupported = await get('/loki/api/v1/query', { query: 'sum by (x) (avg_over_time({a="b"} | unwrap latency [5m]))' });
    assert.equal(unsupported.status, 400);
    assert.equal(unsupported.body.code, 'unsupported_query');
    assert.match(unsupported.body.message, /unsupported LogQL: avg_over_time/);
    const instantLog = await get('/loki/api/v1/query', { query: '{service="api"}' });
    assert.equal(instantLog.status, 400);
    assert.match(instantLog.body.message, /range query/);
    const limit = await get('/loki/api/v1/query_range', { query: '{service="api"}', limit: '100000' });
    assert.equal(limit.status, 400);
    assert.match(limit.body.message, /query\.max_limit/);
    const series = await get('/loki/api/v1/query_range', { query: 'count_over_time({service=~".+"} | json [1m])', ...range(), step: '60s' });
    assert.equal(series.status, 400, 'every line is its own series: more than query.max_series');
    assert.match(series.body.message, /query\.max_series/);
    const unauth = await fetch(`${s.url}/loki/api/v1/labels`);
    assert.equal(unauth.status, 401);
  });

  test('tenants: from the token; X-Scope-OrgID only from a trusted proxy', async () => {
    const own = await get('/loki/api/v1/label/service/values', range(), { 'X-Scope-OrgID': 'acme' });
    assert.ok(['api', 'db', 'web'].every((v) => own.body.data.includes(v)) && !own.body.data.includes('secret'));
    // 127.0.0.1 is in auth.trusted_proxy here: the proxy picks the tenant.
    const proxied = await get('/loki/api/v1/label/service/values', range(), { 'X-Scope-OrgID': 'globex' });
    assert.deepEqual(proxied.body.data, ['secret']);
    const bad = await get('/loki/api/v1/labels', range(), { 'X-Scope-OrgID': 'a|b' });
    assert.equal(bad.status, 400);
  });

  test('format_query, patterns and detected fields answer in Loki\'s shapes', async () => {
    const f = await get('/loki/api/v1/format_query', { query: 'sum(rate({service="api"}|="x"[5m]))by(host)' });
    assert.deepEqual(f.body, { status: 'success', data: 'sum by (host) (rate({service="api"} |= "x" [5m]))' });
    // Records get their template from the template miner at ingest; Loki spells variables <_>.
    const p = await get('/loki/api/v1/patterns', { query: '{service="api"}', ...range(), step: '60s' });
    assert.equal(p.body.status, 'success');
    const patterns = p.body.data as { pattern: string; samples: [number, number][] }[];
    assert.ok(patterns.length > 0 && patterns.every((x) => x.pattern.includes('<_>') && !x.pattern.includes('<*>')), JSON.stringify(patterns));
    assert.equal(patterns.reduce((a, x) => a + x.samples.reduce((b, [, n]) => b + n, 0), 0), 40);
    const filtered = await get('/loki/api/v1/query_range', { query: `{service="api"} |> ${JSON.stringify(patterns[0]!.pattern)}`, ...range(), limit: '1000' });
    assert.ok(filtered.body.data.result.length > 0, 'a pattern from /patterns works as a |> filter');
    const fields = await get('/loki/api/v1/detected_fields', { query: '{service="db"}', ...range() });
    const status = fields.body.fields.find((x: { label: string }) => x.label === 'status');
    assert.deepEqual({ ...status, cardinality: undefined }, { label: 'status', type: 'int', cardinality: undefined, parsers: ['json'], jsonPath: ['status'] });
  });
});

describe('Loki API from an untrusted address', () => {
  test('X-Scope-OrgID naming another tenant is refused', async () => {
    const s = await startTestServer({ auth: { mode: 'token' } });
    try {
      const token = new TokenStore(s.dataDir).create({ tenant: 'acme', role: 'read' }).token;
      await new Promise((r) => setTimeout(r, 1100));
      const res = await fetch(`${s.url}/loki/api/v1/labels`, { headers: { authorization: `Bearer ${token}`, 'X-Scope-OrgID': 'globex' } });
      assert.equal(res.status, 403);
      assert.match((await json(res)).message, /auth\.trusted_proxy/);
    } finally {
      await s.stop();
    }
  });
});
