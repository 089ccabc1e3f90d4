/** The server side of the web UI: the app at its routes, /api/v1/fields, /api/v1/system, the WebSocket token carrier. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { json, postLogs, startTestServer, tempDir } from './helpers/server.ts';
import { registerWebRoutes, CLIENT_ROUTES } from '../src/api/web.ts';
import { tokenFromRequest } from '../src/api/auth.ts';
import { attrPaths } from '../src/api/fields.ts';
import { CounterSampler } from '../src/api/system.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { silentLogger } from '../src/util/logger.ts';
import type { FastifyRequest } from 'fastify';

/** What Chromium sends when it navigates. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

/** A stand-in web/dist, so these tests do not depend on the Vite build. */
function fakeDist(): string {
  const dist = tempDir('cairn-dist-');
  mkdirSync(join(dist, 'assets'));
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>Cairn</title><div id="root"></div>');
  writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
  return dist;
}

test('client routes answer with the app, no-cache, under a strict CSP; assets are cached for good', async () => {
  // As src/api/app.ts configures it.
  const app = Fastify({ routerOptions: { ignoreTrailingSlash: true } });
  registerWebRoutes(app, { logger: silentLogger, dist: fakeDist() });
  app.get('/api/v1/thing', async () => ({ ok: true }));
  await app.ready();
  for (const route of [...CLIENT_ROUTES, '/patterns/', '/?q=x']) {
    const res = await app.inject({ url: route, headers: { accept: BROWSER_ACCEPT } });
    assert.equal(res.statusCode, 200, route);
    assert.match(res.headers['content-type'] as string, /text\/html/);
    assert.match(res.body, /<div id="root">/);
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.match(res.headers['content-security-policy'] as string, /script-src 'self';/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  }
  const asset = await app.inject({ url: '/assets/index-abc123.js' });
  assert.equal(asset.statusCode, 200);
  assert.match(asset.headers['cache-control'] as string, /max-age=31536000.*immutable/);
  // Everything else keeps its own answer: the app does not swallow unknown paths.
  assert.equal((await app.inject({ url: '/api/v1/thing' })).json().ok, true);
  assert.equal((await app.inject({ url: '/api/v1/nope' })).statusCode, 404);
  assert.equal((await app.inject({ url: '/assets/missing.js' })).statusCode, 404);
  assert.equal((await app.inject({ url: '/elsewhere' })).statusCode, 404);
  await app.close();
});

test('without a build, / says how to build the UI', async () => {
  const app = Fastify();
  registerWebRoutes(app, { logger: silentLogger, dist: tempDir('cairn-nodist-') });
  const res = await app.inject({ url: '/', headers: { accept: BROWSER_ACCEPT } });
  assert.equal(res.statusCode, 503);
  assert.match(res.body, /npm run build:web/);
  await app.close();
});

test('/ is the app for a browser and the Elasticsearch handshake for a shipper', async () => {
  const server = await startTestServer();
  try {
    const page = await fetch(`${server.url}/`, { headers: { accept: BROWSER_ACCEPT } });
    assert.match(page.headers.get('content-type')!, /text\/html/);
    await page.text();
    for (const accept of ['application/json', '*/*', 'application/vnd.elasticsearch+json; compatible-with=8']) {
      const es = await fetch(`${server.url}/`, { headers: { accept } });
      assert.equal(es.status, 200, accept);
      assert.equal((await json(es)).version.number, '8.17.0');
    }
    const ping = await fetch(`${server.url}/`, { method: 'HEAD' });
    assert.equal(ping.status, 200);
    assert.equal(ping.headers.get('x-elastic-product'), 'Elasticsearch');
    // The app's other paths are index names to a shipper.
    assert.match((await fetch(`${server.url}/system`, { headers: { accept: BROWSER_ACCEPT } })).headers.get('content-type')!, /text\/html/);
    const index = await fetch(`${server.url}/system`, { headers: { accept: 'application/json' } });
    assert.ok('system' in (await json(index)), 'index info for an index called "system"');
  } finally {
    await server.stop();
  }
});

test('ui.enabled: false serves no UI; the API is unaffected', async () => {
  const server = await startTestServer({ ui: { enabled: false }, sources: { elastic: { enabled: false } } });
  try {
    const res = await fetch(`${server.url}/`, { headers: { accept: BROWSER_ACCEPT } });
    assert.equal(res.status, 404);
    assert.equal((await json(res)).code, 'not_found');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  } finally {
    await server.stop();
  }
});

test('GET /api/v1/fields lists core fields and the attrs keys of the matching records, most common first', async () => {
  const server = await startTestServer();
  try {
    const records = [
      { message: 'a', service: 'api', attrs: { status: 200, http: { method: 'GET', path: '/x' } } },
      { message: 'b', service: 'api', attrs: { status: 500 } },
      { message: 'c', service: 'db', attrs: { query_ms: 12, 'user-agent': 'curl' } },
    ];
    assert.equal((await postLogs(server.url, records)).status, 200);
    const all = await json(await fetch(`${server.url}/api/v1/fields`));
    assert.equal(all.sampled, 3);
    const names = all.fields.map((f: { name: string }) => f.name);
    assert.deepEqual(names.slice(0, 3), ['level', 'host', 'service']);
    const attrs = all.fields.filter((f: { kind: string }) => f.kind === 'attr');
    assert.deepEqual(attrs[0], { name: 'attrs.status', kind: 'attr', count: 2 });
    assert.ok(names.includes('attrs.http.method') && names.includes('attrs.http.path') && names.includes('attrs.user-agent'));
    const db = await json(await fetch(`${server.url}/api/v1/fields?q=service:db`));
    assert.deepEqual(
      db.fields.filter((f: { kind: string }) => f.kind === 'attr').map((f: { name: string }) => f.name).sort(),
      ['attrs.query_ms', 'attrs.user-agent'],
    );
    const bad = await fetch(`${server.url}/api/v1/fields?sample=0`);
    assert.equal(bad.status, 400);
    assert.match((await json(bad)).error, /sample/);
  } finally {
    await server.stop();
  }
});

test('attrs paths: nested objects become dotted paths, down to a depth', () => {
  const out = new Set<string>();
  attrPaths({ a: 1, b: { c: { d: { e: { f: 1 } } } }, g: [1, 2], h: {} }, out);
  assert.deepEqual([...out].sort(), ['attrs.a', 'attrs.b.c.d.e', 'attrs.g', 'attrs.h']);
});

test('GET /api/v1/system: ingest per source with a rate, refusals with when they last happened, storage per day, for the caller\'s tenant', async () => {
  const server = await startTestServer();
  try {
    assert.equal((await postLogs(server.url, [{ message: 'one' }, { message: 'two' }])).status, 200);
    await postLogs(server.url, '{"message": broken\n{"message":"three"}');
    const s = await json(await fetch(`${server.url}/api/v1/system`));
    assert.equal(s.tenant, 'default');
    const http = s.ingest.find((r: { source: string }) => r.source === 'http');
    assert.equal(http.records_total, 3);
    assert.ok(http.bytes_total > 0);
    const invalid = s.errors.find((e: { reason: string }) => e.reason === 'invalid_json');
    assert.equal(invalid.total, 1);
    assert.equal(invalid.source, 'http');
    assert.ok(invalid.last_seen, 'last_seen is set once the count went up');
    assert.equal(s.storage.rows, 3);
    assert.equal(s.storage.days.length, 1);
    assert.match(s.storage.days[0].day, /^\d{4}-\d{2}-\d{2}$/);
    assert.deepEqual(Object.keys(s.queue).sort(), ['bytes', 'records']);
  } finally {
    await server.stop();
  }
});

test('the sampler turns counter readings into per-second rates over its window and keeps tenants apart', async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  const sampler = new CounterSampler(metrics);
  const t0 = 1_000_000;
  await sampler.sample(t0);
  assert.equal(sampler.summary('acme').ingest.length, 0);
  metrics.processed.inc({ source: 'http', tenant: 'acme' }, 100);
  metrics.processed.inc({ source: 'syslog', tenant: 'other' }, 7);
  metrics.errors.inc({ source: 'http', tenant: 'acme', reason: 'line_too_long' }, 2);
  await sampler.sample(t0 + 10_000);
  const s = sampler.summary('acme');
  assert.equal(s.window_s, 10);
  assert.deepEqual(s.ingest.map((r) => [r.source, r.records_total, r.records_per_s]), [['http', 100, 10]]);
  assert.deepEqual(s.errors.map((e) => [e.reason, e.total, e.in_window, e.last_seen]), [['line_too_long', 2, 2, new Date(t0 + 10_000).toISOString()]]);
  // Readings older than the window fall out; the rate then covers the window only.
  for (let t = t0 + 15_000; t <= t0 + 120_000; t += 5000) await sampler.sample(t);
  const later = sampler.summary('acme');
  assert.ok(later.window_s <= 65, `window ${later.window_s}`);
  assert.equal(later.ingest[0]!.records_per_s, 0);
  assert.equal(later.errors[0]!.in_window, 0);
  assert.equal(later.errors[0]!.last_seen, new Date(t0 + 10_000).toISOString());
});

test('a WebSocket may carry the token as a subprotocol (browsers cannot set headers)', () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as FastifyRequest;
  assert.equal(tokenFromRequest(req({ 'sec-websocket-protocol': 'cairn, cairn.token.cairn_0123456789ab_secret' })), 'cairn_0123456789ab_secret');
  assert.equal(tokenFromRequest(req({ 'sec-websocket-protocol': 'cairn' })), undefined);
  assert.equal(tokenFromRequest(req({ 'sec-websocket-protocol': 'cairn.token.' })), undefined);
  // A header token wins over the subprotocol.
  assert.equal(tokenFromRequest(req({ authorization: 'Bearer abc', 'sec-websocket-protocol': 'cairn, cairn.token.xyz' })), 'abc');
});
