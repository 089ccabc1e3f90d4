/**
 * GeoIP needs no network: the enrich stage, with its default database (the
 * .mmdb file inside an npm package), runs in a fresh network namespace that
 * has no interface but a downed loopback (`unshare --net`, util-linux), and
 * still resolves addresses to countries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../helpers/server.ts';

const SCRIPT = `
import './src/components.ts';
import { validateConfig } from './src/config/load.ts';
import { createMetrics } from './src/metrics/metrics.ts';
import { buildPipeline } from './src/pipeline/build.ts';
import { newRecord } from './src/record/record.ts';
import { silentLogger } from './src/util/logger.ts';
import { networkInterfaces } from 'node:os';
const config = validateConfig({ pipeline: { templates: { enabled: false }, stages: { geo: { type: 'enrich', geoip: {} } } } }, 'offline');
const pipeline = buildPipeline({ config, metrics: createMetrics({ defaultMetrics: false }), logger: silentLogger });
const out = await pipeline.process(['8.8.8.8', '193.99.144.80'].map((ip) => newRecord({ message: 'x', attrs: { client_ip: ip } }, 0n)), { source: 'test', tenant: 'default' });
console.log(JSON.stringify({ interfaces: Object.keys(networkInterfaces()), countries: out.map((r) => r.attrs.geo.country) }));
`;

test('GeoIP lookups work inside a network namespace without network', () => {
  const res = spawnSync('unshare', ['--net', process.execPath, '--input-type=module', '-e', SCRIPT], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  const result = JSON.parse(res.stdout.trim().split('\n').pop()!);
  assert.deepEqual(result.interfaces, [], 'no usable interface in the namespace (loopback is down)');
  assert.deepEqual(result.countries, ['US', 'DE']);
});
