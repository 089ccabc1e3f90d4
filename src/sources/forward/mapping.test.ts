import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFluentBitTelemetry, recordFromFluent, type MappingContext } from './mapping.ts';
import { EventTime } from './msgpack.ts';

const ctx: MappingContext = { tenant: 'acme', nowNs: 2_000_000_000_000_000_000n, tagField: 'unit', keepRaw: false };
const T = 1_714_557_600_123_456_789n;

function map(tag: string, record: Record<string, unknown>, c: Partial<MappingContext> = {}, metadata: Record<string, unknown> | null = null) {
  const res = recordFromFluent(tag, T, record, metadata, { ...ctx, ...c });
  assert.ok('record' in res, 'error' in res ? res.error : '');
  return res.record;
}

test('log/message, level, host; the tag is the unit; the event time wins', () => {
  const r = map('app.access', { log: 'GET /', level: 'warn', hostname: 'web-1', time: '2001-01-01T00:00:00Z', stream: 'stdout' });
  assert.deepEqual([r.message, r.severity, r.host, r.unit, r.ts, r.tenant, r.observed_ts], ['GET /', 4, 'web-1', 'app.access', T, 'acme', ctx.nowNs]);
  assert.deepEqual(r.attrs, { time: '2001-01-01T00:00:00Z', stream: 'stdout' });
});

test('a record naming its own unit keeps it, and the tag goes to attrs.tag; tag_field service/attr', () => {
  assert.deepEqual([map('t', { msg: 'x', unit: 'mine' }).unit, map('t', { msg: 'x', unit: 'mine' }).attrs.tag], ['mine', 't']);
  const s = map('billing', { message: 'x' }, { tagField: 'service' });
  assert.deepEqual([s.service, s.unit, s.attrs.tag], ['billing', '', undefined]);
  const a = map('billing', { message: 'x' }, { tagField: 'attr' });
  assert.deepEqual([a.unit, a.attrs.tag], ['', 'billing']);
});

test('records the HTTP API would refuse are stored: numeric levels, no message field', () => {
  const r = map('t', { level: 30, msg: 'pino line' });
  assert.deepEqual([r.message, r.severity, r.attrs.level], ['pino line', 6, 30]);
  const m = map('cpu.local', { cpu_p: 1.5, user_p: 0.5 });
  assert.equal(m.message, '{"cpu_p":1.5,"user_p":0.5}');
  assert.deepEqual(m.attrs, { cpu_p: 1.5, user_p: 0.5 });
});

test("Fluent Bit's systemd input: journald fields as the journald mapping has them", () => {
  const r = map('host.systemd', {
    _SYSTEMD_UNIT: 'sshd.service',
    MESSAGE: 'Accepted publickey for ann',
    PRIORITY: '5',
    _HOSTNAME: 'node-7',
    _PID: '812',
    _EXE: '/usr/sbin/sshd',
  });
  assert.deepEqual([r.message, r.unit, r.host, r.severity, r.os, r.type, r.ts, r.tenant], ['Accepted publickey for ann', 'sshd.service', 'node-7', 5, 'linux', 'system', T, 'acme']);
  assert.equal(r.attrs._PID, '812');
  assert.equal(r.attrs.tag, 'host.systemd');
  const withRealtime = map('j', { MESSAGE: 'm', PRIORITY: '6', __REALTIME_TIMESTAMP: '1700000000000001' });
  assert.equal(withRealtime.ts, 1_700_000_000_000_001_000n);
});

test("Fluent Bit's kubernetes metadata: host, unit and service filled, attrs.kubernetes kept", () => {
  const kubernetes = { pod_name: 'api-7d9c', namespace_name: 'prod', container_name: 'api', host: 'node-1', labels: { 'app.kubernetes.io/name': 'checkout' } };
  const r = map('kube.var.log.containers.api-7d9c_prod_api-123.log', { log: 'hello', stream: 'stderr', kubernetes });
  assert.deepEqual([r.host, r.unit, r.service, r.attrs.tag], ['node-1', 'api', 'checkout', 'kube.var.log.containers.api-7d9c_prod_api-123.log']);
  assert.deepEqual(r.attrs.kubernetes, kubernetes);
});

test('msgpack values become JSON: bin as UTF-8, big integers as text, EventTime as RFC 3339; metadata kept', () => {
  const r = map('t', { message: Buffer.from('bytes as text'), request_id: 2n ** 64n - 1n, nested: { b: Buffer.from('x'), t: new EventTime(T) }, nan: NaN }, {}, { otlp: { trace_id: 'ab' } });
  assert.equal(r.message, 'bytes as text');
  assert.deepEqual(r.attrs, { request_id: '18446744073709551615', nested: { b: 'x', t: '2024-05-01T10:00:00.123456789Z' }, nan: null, fluent_metadata: { otlp: { trace_id: 'ab' } } });
  JSON.stringify(r.attrs);
});

test('keep_raw keeps the record as JSON', () => {
  assert.equal(map('t', { log: 'x', a: 1 }, { keepRaw: true }).raw, '{"log":"x","a":1}');
});

test("Fluent Bit's metrics and traces records are recognized (they are not logs)", () => {
  assert.equal(isFluentBitTelemetry({ cmetrics: new Uint8Array([1, 2]) }), true);
  assert.equal(isFluentBitTelemetry({ ctraces: Buffer.from([1]) }), true);
  assert.equal(isFluentBitTelemetry({ cmetrics: 'text', log: 'x' }), false);
  assert.equal(isFluentBitTelemetry({ log: 'x' }), false);
});
