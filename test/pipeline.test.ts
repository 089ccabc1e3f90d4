/**
 * The pipeline inside a real server: stages and routes from configuration,
 * records through HTTP ingest, results read back through the query API, the
 * per-stage metrics, configuration errors at start-up, and redaction proven
 * on the bytes in the data directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../src/config/load.ts';
import { json, postLogs, query, startTestServer, tempDir } from './helpers/server.ts';

const PIPELINE = {
  stages: {
    drop_debug: { type: 'filter', drop: 'severity=debug env:production' },
    json: { type: 'parse', format: ['json', 'nginx_access'] },
    context: {
      type: 'enrich',
      static: { env: 'production' },
      catalog: { entries: [{ host: 'web-*', service: 'shop', team: 'checkout' }] },
      geoip: {},
    },
    mask: { type: 'redact' },
  },
  routes: [
    { match: { source: 'http', os: 'windows' }, stages: ['context', 'mask', 'templates'] },
    { match: {}, stages: ['json', 'context', 'drop_debug', 'mask', 'templates'] },
  ],
};

test('stages run per route; records come out parsed, enriched, filtered, masked and templated; every stage is counted', async () => {
  const server = await startTestServer({ pipeline: PIPELINE });
  try {
    const res = await postLogs(server.url, [
      { host: 'web-1', unit: 'app', message: '{"level":"info","msg":"order 1 paid by alice@example.com","request_id":"r-100"}' },
      { host: 'web-1', unit: 'app', message: '{"level":"debug","msg":"cache miss"}' },
      { host: 'web-2', unit: 'nginx', message: '8.8.8.8 - - [17/May/2025:08:05:32 +0000] "GET /cart HTTP/1.1" 502 0 "-" "curl/8"' },
      { host: 'WIN-1', os: 'windows', unit: 'App', message: '{"level":"debug","msg":"not parsed on this route"}' },
    ]);
    assert.equal(res.status, 200, await res.text());
    const { body } = await query(server.url, { from: '2020-01-01T00:00:00Z', limit: '10' });
    const byHost = (host: string) => body.records.filter((r: { host: string }) => r.host === host);
    const paid = byHost('web-1');
    assert.equal(paid.length, 1, 'the debug line was dropped by drop_debug');
    assert.equal(paid[0].message, 'order 1 paid by [REDACTED:email]');
    assert.equal(paid[0].service, 'shop');
    assert.equal(paid[0].correlation_id, 'r-100');
    assert.deepEqual([paid[0].attrs.team, paid[0].attrs.env], ['checkout', 'production']);
    assert.match(paid[0].template_id, /^[0-9a-f]{16}$/);
    const nginx = byHost('web-2')[0];
    assert.equal(nginx.severity, 3);
    assert.equal(nginx.ts, '2025-05-17T08:05:32.000000000Z');
    assert.equal(nginx.attrs.remote_addr, '[REDACTED:ipv4]', 'redacted after GeoIP used it');
    assert.equal(nginx.attrs.geo.country, 'US');
    const win = byHost('WIN-1')[0];
    assert.equal(win.message, '{"level":"debug","msg":"not parsed on this route"}', 'the windows route has no parse and no filter');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /pipeline_records_total\{stage="drop_debug",result="in"\} 3/);
    assert.match(metrics, /pipeline_records_total\{stage="drop_debug",result="dropped"\} 1/);
    assert.match(metrics, /pipeline_dropped_total\{stage="drop_debug",reason="filter"\} 1/);
    assert.match(metrics, /pipeline_records_total\{stage="context",result="in"\} 4/);
    assert.match(metrics, /pipeline_records_total\{stage="templates",result="out"\} 3/);
    assert.match(metrics, /pipeline_stage_seconds_count\{stage="mask"\} 2/);
  } finally {
    await server.stop();
  }
});

test('configuration errors at start-up name the key, all of them at once', async () => {
  await assert.rejects(
    startTestServer({
      pipeline: {
        stages: {
          a: { type: 'sparkle' },
          b: { type: 'filter', drop: 'message:/(x)\\1/' },
          c: { type: 'parse', format: 'regex', regex: '(?P<u>\\w+' },
          d: { type: 'redact', custom: [{ name: 'k', regex: '(?=k)' }] },
        },
        routes: [{ match: { source: 'http' }, stages: ['b', 'nope'] }],
      },
    }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      assert.match(text, /^pipeline\.stages\.a\.type: unknown stage "sparkle" \(known: enrich, filter, parse, redact, templates\)$/m);
      assert.match(text, /^pipeline\.stages\.b\.drop: .*cannot run in linear time/m);
      assert.match(text, /^pipeline\.stages\.c\.regex: .*not a valid regular expression/m);
      assert.match(text, /^pipeline\.stages\.d\.custom\.0\.regex: .*needs backtracking/m);
      assert.match(text, /^pipeline\.routes\.0\.stages\.1: unknown stage "nope"/m);
      return true;
    },
  );
});

/** Every file under dir, as bytes. */
function filesUnder(dir: string): Buffer[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => readFileSync(f));
}

test('redaction: the original never reaches disk (message, raw, attrs, templates)', async () => {
  const dataDir = tempDir();
  const secrets = ['alice.secret@example.com', '4111 1111 1111 1111', 'ghp_' + 'Z'.repeat(36), 'hunter2-passw0rd'];
  const marker = 'PLAINTEXT-CONTROL-7f3a';
  const server = await startTestServer({ ingest: { keep_raw: true }, pipeline: { stages: { mask: { type: 'redact' } } } }, dataDir);
  try {
    const lines = Array.from({ length: 50 }, (_, i) => ({
      host: 'web-1',
      message: `${marker} user ${secrets[0]} paid with ${secrets[1]} token ${secrets[2]} password=${secrets[3]} #${i}`,
      attrs: { card: secrets[1], nested: { mail: secrets[0] } },
    }));
    assert.equal((await postLogs(server.url, lines)).status, 200);
    const { body } = await query(server.url, { q: marker, from: '2020-01-01T00:00:00Z', limit: '100' });
    assert.equal(body.records.length, 50);
    const stored = JSON.stringify(body.records) + JSON.stringify((await json(await fetch(`${server.url}/api/v1/patterns?from=2020-01-01T00:00:00Z`))));
    for (const s of secrets) assert.ok(!stored.includes(s), `${s} came back from the store`);
  } finally {
    await server.close();
  }
  // The store wrote the head (and closing may have compacted it): the control text must be
  // findable in the raw bytes of some file for this check to mean anything.
  const files = filesUnder(dataDir);
  const everything = Buffer.concat(files);
  assert.ok(everything.includes(marker) || files.some((f) => f.includes(Buffer.from(marker, 'utf16le'))), 'the control text is visible on disk');
  for (const s of secrets) assert.ok(!everything.includes(s), `${s} is on disk`);
});

test('anomalies are records: stored through the ingest path and found with attrs.anomaly.kind:*', async () => {
  const server = await startTestServer({ pipeline: { anomalies: { bucket: '1s', learning_period: 0 } } });
  try {
    assert.equal((await postLogs(server.url, [{ host: 'web-1', service: 'shop', message: 'payment provider timeout after 30s' }])).status, 200);
    let found: { message: string; service: string; type: string; unit: string; attrs: { anomaly: Record<string, unknown> } }[] = [];
    for (let i = 0; i < 40 && found.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      found = (await query(server.url, { q: 'attrs.anomaly.kind:*', from: '2020-01-01T00:00:00Z' })).body.records;
    }
    assert.equal(found.length, 1);
    const a = found[0]!;
    assert.equal(a.attrs.anomaly.kind, 'new_template');
    assert.equal(a.service, 'shop');
    assert.deepEqual([a.type, a.unit], ['logger', 'cairn-anomaly']);
    assert.match(a.message, /^New template in service shop: "payment provider timeout after <\*>"/);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /anomalies_total\{tenant="default",kind="new_template"\} 1/);
    assert.match(metrics, /log_processed_total\{source="anomaly",tenant="default"\} 1/);
  } finally {
    await server.stop();
  }
});
