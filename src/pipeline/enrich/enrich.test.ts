import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildStage, record } from '../../../test/helpers/pipeline.ts';
import { StageConfigError } from '../options.ts';
import { parseTraceparent } from './correlation.ts';

test('static fields fill what is empty; overwrite replaces', async () => {
  const { run } = buildStage('e', { type: 'enrich', static: { service: 'shop', env: 'production', 'attrs.dc': 'fra1' } });
  const [a, b] = await run([record('x'), record('y', { service: 'billing', attrs: { env: 'staging' } })]);
  assert.equal(a!.service, 'shop');
  assert.deepEqual(a!.attrs, { env: 'production', dc: 'fra1' });
  assert.equal(b!.service, 'billing');
  assert.equal(b!.attrs.env, 'staging');
  const over = buildStage('e', { type: 'enrich', static: { service: 'shop' }, overwrite: true });
  assert.equal((await over.run([record('y', { service: 'billing' })]))[0]!.service, 'shop');
});

test('service catalog from config entries and from YAML and CSV files; first match wins', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-catalog-'));
  try {
    writeFileSync(join(dir, 'catalog.yaml'), 'services:\n  - {host: "db-*", service: postgres, team: data, env: production}\n');
    writeFileSync(join(dir, 'catalog.csv'), 'host,unit,service,team,env\n,nginx.service,edge,platform,production\n"win-*",,ad,identity,production\n');
    for (const file of ['catalog.yaml', 'catalog.csv']) {
      const { run } = buildStage('e', {
        type: 'enrich',
        correlation: { enabled: false },
        catalog: { entries: [{ host: 'web-1', unit: 'shop-api', service: 'shop', team: 'checkout' }], file: join(dir, file) },
      });
      const out = await run([
        record('a', { host: 'web-1', unit: 'shop-api' }),
        record('b', { host: 'db-7', unit: 'postgres' }),
        record('c', { host: 'lb-1', unit: 'nginx.service' }),
        record('d', { host: 'WIN-DC01', unit: 'Microsoft-Windows-Security-Auditing' }),
        record('e', { host: 'other', unit: 'x' }),
      ]);
      assert.deepEqual([out[0]!.service, out[0]!.attrs.team], ['shop', 'checkout']);
      if (file === 'catalog.yaml') assert.deepEqual([out[1]!.service, out[1]!.attrs.team, out[1]!.attrs.env], ['postgres', 'data', 'production']);
      else {
        assert.deepEqual([out[2]!.service, out[2]!.attrs.team], ['edge', 'platform']);
        assert.equal(out[3]!.service, 'ad', 'host globs ignore case (Windows host names)');
      }
      assert.deepEqual([out[4]!.service, out[4]!.attrs], ['', {}]);
    }
    writeFileSync(join(dir, 'bad.yaml'), '- {host: x, colour: red}\n');
    assert.throws(
      () => buildStage('e', { type: 'enrich', catalog: { file: join(dir, 'bad.yaml') } }),
      (err: unknown) => err instanceof StageConfigError && /^catalog\.file: .*bad\.yaml: entry 0/.test(err.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('W3C traceparent in attrs or in the message sets trace_id and span_id', async () => {
  const { run } = buildStage('e', { type: 'enrich' });
  const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const [a, b, c] = await run([
    record('GET /cart', { attrs: { headers: { traceparent: tp } } }),
    record(`calling inventory traceparent=${tp} ok`),
    record('bad', { attrs: { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' } }),
  ]);
  assert.deepEqual([a!.trace_id, a!.span_id], ['4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7']);
  assert.deepEqual([b!.trace_id, b!.span_id], ['4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7']);
  assert.deepEqual([c!.trace_id, c!.span_id], [null, null], 'an all-zero trace id is invalid');
  assert.equal(parseTraceparent('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), null, 'version ff is invalid');
});

test('correlation ids from common keys (also in Windows EventData and nested trace.id), from the message, GUIDs in one form', async () => {
  const { run } = buildStage('e', { type: 'enrich' });
  const guid = '8F2C1A4E-7B3D-4C2A-9E1F-0A1B2C3D4E5F';
  const out = await run([
    record('order placed', { attrs: { request_id: 'req-42abc' } }),
    record('IIS request', { os: 'windows', attrs: { EventData: { CorrelationId: `{${guid}}` } } }),
    record('Logon', { os: 'windows', correlation_id: `{${guid}}` }),
    record(`processing correlation_id=${guid.toLowerCase()} step 2`),
    record('span', { attrs: { trace: { id: 'ABCDEF0123456789ABCDEF0123456789' } } }),
    record('X-Request-ID: abc123def for /api'),
    record('nothing here'),
  ]);
  assert.equal(out[0]!.correlation_id, 'req-42abc');
  assert.equal(out[1]!.correlation_id, guid.toLowerCase());
  assert.equal(out[2]!.correlation_id, guid.toLowerCase(), 'the Windows ActivityID form meets the Linux form');
  assert.equal(out[3]!.correlation_id, guid.toLowerCase());
  assert.equal(out[4]!.trace_id, 'abcdef0123456789abcdef0123456789');
  assert.equal(out[5]!.correlation_id, 'abc123def');
  assert.equal(out[6]!.correlation_id, null);
});

test('GeoIP from the MaxMind database shipped in the npm package; private addresses get nothing', async () => {
  const { run } = buildStage('e', { type: 'enrich', geoip: {} });
  const [a, b, c, d] = await run([
    record('x', { attrs: { client_ip: '8.8.8.8' } }),
    record('x', { attrs: { remote_addr: '193.99.144.80' } }),
    record('x', { attrs: { client_ip: '10.0.0.1' } }),
    record('x', { attrs: { client_ip: 'not-an-ip' } }),
  ]);
  assert.deepEqual(a!.attrs.geo, { ip_field: 'client_ip', country: 'US' });
  assert.deepEqual(b!.attrs.geo, { ip_field: 'remote_addr', country: 'DE' });
  assert.equal(c!.attrs.geo, undefined);
  assert.equal(d!.attrs.geo, undefined);
  const custom = buildStage('e', { type: 'enrich', geoip: { fields: 'attrs.peer.addr', target: 'peer.geo' } });
  const [e] = await custom.run([record('x', { attrs: { peer: { addr: '2a00:1450:4001:80b::200e' } } })]);
  assert.equal((e!.attrs.peer as { geo: { country: string } }).geo.country, 'IE');
  assert.throws(
    () => buildStage('e', { type: 'enrich', geoip: { database: '/nonexistent.mmdb' } }),
    (err: unknown) => err instanceof StageConfigError && /^geoip\.database: cannot read/.test(err.message),
  );
});
