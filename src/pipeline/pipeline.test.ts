import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../components.ts';
import { validateConfig } from '../config/load.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { newRecord, type LogRecord } from '../record/record.ts';
import { silentLogger } from '../util/logger.ts';
import { buildPipeline } from './build.ts';

const T = 1_750_000_000_000_000_000n;
const rec = (message: string, partial: Partial<LogRecord> = {}) => newRecord({ tenant: 'acme', ...partial, message }, T);

/** Stages that tag records with their name, to see which ran and in which order. */
function pipeline(routes: unknown[], extra: Record<string, unknown> = {}) {
  const tag = (name: string) => ({ type: 'enrich', static: { [`ran.${name}`]: true }, correlation: { enabled: false } });
  const config = validateConfig({ pipeline: { templates: { enabled: false }, stages: { a: tag('a'), b: tag('b'), c: tag('c') }, routes, ...extra } }, 'test');
  return buildPipeline({ config, metrics: createMetrics({ defaultMetrics: false }), logger: silentLogger });
}

const ran = (r: LogRecord) => Object.keys((r.attrs.ran as Record<string, boolean> | undefined) ?? {}).join('');

test('first matching route wins; source and tenant per batch, service and os per record; unmatched records pass unchanged', async () => {
  const p = pipeline([
    { match: { source: 'syslog', os: 'windows' }, stages: ['a'] },
    { match: { source: ['syslog', 'forward'], service: 'pay*' }, stages: ['b', 'c'] },
    { match: { tenant: 'acme', source: 'syslog' }, stages: ['c'] },
  ]);
  const out = await p.process([rec('1', { os: 'windows', service: 'payments' }), rec('2', { service: 'payments' }), rec('3'), rec('4', { os: 'windows' })], { source: 'syslog', tenant: 'acme' });
  assert.deepEqual(Object.fromEntries(out.map((r) => [r.message, ran(r)])), { '1': 'a', '2': 'bc', '3': 'c', '4': 'a' });
  const other = await p.process([rec('5')], { source: 'http', tenant: 'acme' });
  assert.equal(ran(other[0]!), '', 'no route: stored as it came');
  const forward = await p.process([rec('6', { service: 'payroll' })], { source: 'forward', tenant: 'globex' });
  assert.equal(ran(forward[0]!), 'bc');
});

test('without routes: every stage in the order written; records from source "anomaly" skip the pipeline', async () => {
  const p = pipeline([]);
  assert.equal(ran((await p.process([rec('x')], { source: 'http', tenant: 'acme' }))[0]!), 'abc');
  assert.equal(ran((await p.process([rec('x')], { source: 'anomaly', tenant: 'acme' }))[0]!), '');
});

test('observers see what the stages let through', async () => {
  const seen: string[] = [];
  const config = validateConfig({ pipeline: { templates: { enabled: false }, stages: { f: { type: 'filter', drop: 'drop' } } } }, 'test');
  const p = buildPipeline({ config, metrics: createMetrics({ defaultMetrics: false }), logger: silentLogger, observers: [{ observe: (rs) => seen.push(...rs.map((r) => r.message)) }] });
  await p.process([rec('keep me'), rec('drop me')], { source: 'http', tenant: 'acme' });
  assert.deepEqual(seen, ['keep me']);
});
