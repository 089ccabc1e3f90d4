import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lokiRecord, streamFields } from './mapping.ts';

const now = 1_700_000_000_000_000_000n;

test('labels that name a core field become it and leave the attrs', () => {
  const f = streamFields({ host: 'web-1', unit: 'nginx.service', service_name: 'shop', level: 'warn', os: 'Linux', type: 'system', env: 'prod' });
  assert.deepEqual(
    { host: f.host, unit: f.unit, service: f.service, severity: f.severity, os: f.os, type: f.type, attrs: f.attrs },
    { host: 'web-1', unit: 'nginx.service', service: 'shop', severity: 4, os: 'linux', type: 'system', attrs: { env: 'prod' } },
  );
});

test('aliases: hostname, systemd_unit, service, severity, detected_level', () => {
  const f = streamFields({ hostname: 'h', systemd_unit: 'cron.service', service: 's', detected_level: 'error' });
  assert.deepEqual([f.host, f.unit, f.service, f.severity, f.attrs], ['h', 'cron.service', 's', 3, {}]);
});

test('app, container and job fill service (Loki discovery order) and stay queryable in attrs', () => {
  assert.equal(streamFields({ job: 'varlogs', app: 'api' }).service, 'api');
  const f = streamFields({ job: 'varlogs' });
  assert.equal(f.service, 'varlogs');
  assert.deepEqual(f.attrs, { job: 'varlogs' });
  assert.equal(streamFields({ service_name: 'unknown_service', container: 'redis' }).service, 'redis');
});

test('values that do not fit a core field stay attrs', () => {
  const f = streamFields({ level: 'unknown', os: 'plan9', type: 'nginx' });
  assert.equal(f.severity, undefined);
  assert.deepEqual([f.os, f.type], ['other', 'application']);
  assert.deepEqual(f.attrs, { level: 'unknown', os: 'plan9', type: 'nginx' });
});

test('structured metadata: trace and span ids, a level when labels give none, the rest attrs', () => {
  const f = streamFields({ host: 'h', env: 'prod' });
  const r = lokiRecord(f, { ts: 5n, line: 'hello', metadata: { trace_id: 't1', span_id: 's1', detected_level: 'debug', user: 'ann' } }, 'acme', now);
  assert.deepEqual(
    [r.ts, r.observed_ts, r.tenant, r.host, r.message, r.trace_id, r.span_id, r.severity, r.attrs],
    [5n, now, 'acme', 'h', 'hello', 't1', 's1', 7, { env: 'prod', user: 'ann' }],
  );
  // Each record gets its own attrs: clamping one must not touch the others.
  const r2 = lokiRecord(f, { ts: null, line: 'x', metadata: null }, 'acme', now);
  r2.attrs.original_ts = 'changed';
  assert.equal(lokiRecord(f, { ts: null, line: 'y', metadata: null }, 'acme', now).attrs.original_ts, undefined);
  assert.equal(r2.ts, now);
  assert.equal(r2.severity, 6);
});
