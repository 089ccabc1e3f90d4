/** OTLP → LogRecord: every severity number, the resource/scope/attribute layout, ids, times, bodies. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { protoType } from '../../sources/grpc/proto.ts';
import { decodeOtlpJson, decodeOtlpProtobuf } from '../../sources/otlp/decode.ts';
import { anyValueToJson, bodyToMessage, idToHex, int64ToBigInt, osFromOtel, otelSeverityToSyslog, otlpToRecords, type OtlpExportRequest } from './otlp.ts';

const NOW = 1_800_000_000_000_000_000n;
const REQUEST = protoType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');

/** Builds a request from protobuf-JSON-like input and runs it through the real wire decoder. */
function viaWire(obj: Record<string, unknown>): OtlpExportRequest {
  return decodeOtlpProtobuf(REQUEST.encode(REQUEST.fromObject(obj)).finish());
}

const str = (s: string) => ({ stringValue: s });
const kv = (key: string, value: unknown) => ({ key, value });

function oneLog(log: Record<string, unknown>, resource: unknown[] = [], scope: Record<string, unknown> | null = null) {
  return viaWire({ resourceLogs: [{ resource: { attributes: resource }, scopeLogs: [{ ...(scope ? { scope } : {}), logRecords: [log] }] }] });
}

test('every OpenTelemetry severity number maps to a syslog severity', () => {
  const expected: Record<number, number | undefined> = { 0: undefined, 25: undefined, [-1]: undefined };
  for (let n = 1; n <= 24; n++) expected[n] = n <= 8 ? 7 : n === 9 ? 6 : n <= 12 ? 5 : n <= 16 ? 4 : n <= 20 ? 3 : 2;
  for (const [n, sev] of Object.entries(expected)) assert.equal(otelSeverityToSyslog(Number(n)), sev, `severity number ${n}`);
  // Spot checks by name, as the docs table lists them.
  assert.equal(otelSeverityToSyslog(1), 7, 'TRACE → debug');
  assert.equal(otelSeverityToSyslog(5), 7, 'DEBUG → debug');
  assert.equal(otelSeverityToSyslog(9), 6, 'INFO → info');
  assert.equal(otelSeverityToSyslog(10), 5, 'INFO2 → notice');
  assert.equal(otelSeverityToSyslog(13), 4, 'WARN → warning');
  assert.equal(otelSeverityToSyslog(17), 3, 'ERROR → err');
  assert.equal(otelSeverityToSyslog(21), 2, 'FATAL → crit');
  assert.equal(otelSeverityToSyslog(24), 2, 'FATAL4 → crit');
});

test('severity: number through the decoder, text as fallback, info by default', () => {
  for (let n = 1; n <= 24; n++) {
    const [r] = otlpToRecords(oneLog({ severityNumber: n, body: str('x') }), { tenant: 't', nowNs: NOW });
    assert.equal(r!.severity, otelSeverityToSyslog(n), `wire severity number ${n}`);
  }
  const sev = (log: Record<string, unknown>) => otlpToRecords(oneLog(log), { tenant: 't', nowNs: NOW })[0]!.severity;
  assert.equal(sev({ severityText: 'WARNING' }), 4, 'text when the number is unspecified');
  assert.equal(sev({ severityText: 'Error' }), 3);
  assert.equal(sev({ severityNumber: 9, severityText: 'ERROR' }), 6, 'the number wins over the text');
  assert.equal(sev({ severityText: 'AUDIT' }), 6, 'unknown text → info');
  assert.equal(sev({}), 6, 'nothing → info');
});

test('resource, scope and log attributes: core fields and the attrs layout', () => {
  const req = viaWire({
    resourceLogs: [
      {
        resource: {
          attributes: [
            kv('service.name', str('checkout')),
            kv('host.name', str('web-1')),
            kv('os.type', str('windows')),
            kv('process.pid', { intValue: 4242 }),
            kv('deployment.environment', str('prod')),
          ],
        },
        scopeLogs: [
          {
            scope: { name: 'com.example.Payments', version: '2.1', attributes: [kv('lib.kind', str('bridge'))] },
            logRecords: [
              {
                timeUnixNano: '1700000000123456789',
                observedTimeUnixNano: '1700000000999999999',
                severityNumber: 17,
                body: str('payment failed'),
                attributes: [
                  kv('http.request.method', str('POST')),
                  kv('http.response.status_code', { intValue: 502 }),
                  kv('retry', { boolValue: true }),
                  kv('ratio', { doubleValue: 0.25 }),
                  kv('tags', { arrayValue: { values: [str('a'), { intValue: 2 }] } }),
                  kv('user', { kvlistValue: { values: [kv('id', { intValue: '9007199254740993' }), kv('name', str('ann'))] } }),
                  kv('blob', { bytesValue: Buffer.from([1, 2, 3]).toString('base64') }),
                  kv('scope', str('admin')),
                ],
                traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex').toString('base64'),
                spanId: Buffer.from('eee19b7ec3c1b174', 'hex').toString('base64'),
                eventName: 'payment.failed',
              },
            ],
          },
        ],
      },
    ],
  });
  const [r] = otlpToRecords(req, { tenant: 'acme', nowNs: NOW });
  assert.ok(r);
  assert.equal(r.tenant, 'acme');
  assert.equal(r.service, 'checkout', 'service ← service.name');
  assert.equal(r.unit, 'checkout', 'unit ← service.name');
  assert.equal(r.host, 'web-1', 'host ← host.name');
  assert.equal(r.os, 'windows', 'os ← os.type');
  assert.equal(r.severity, 3);
  assert.equal(r.type, 'application');
  assert.equal(r.message, 'payment failed');
  assert.equal(r.ts, 1_700_000_000_123_456_789n, 'ts ← time_unix_nano, all nine digits');
  assert.equal(r.observed_ts, NOW);
  assert.equal(r.trace_id, '5b8efff798038103d269b633813fc60c');
  assert.equal(r.span_id, 'eee19b7ec3c1b174');
  assert.deepEqual(JSON.parse(JSON.stringify(r.attrs)), {
    resource: { os: { type: 'windows' }, process: { pid: 4242 }, deployment: { environment: 'prod' } },
    scope: { name: 'com.example.Payments', version: '2.1', lib: { kind: 'bridge' } },
    http: { request: { method: 'POST' }, response: { status_code: 502 } },
    retry: true,
    ratio: 0.25,
    tags: ['a', 2],
    user: { id: '9007199254740993', name: 'ann' },
    blob: 'AQID',
    log: { scope: 'admin' },
    event: { name: 'payment.failed' },
  });
});

test('unit falls back to process.executable.name, then the scope name; unknown_service is not a unit', () => {
  const unit = (resource: unknown[], scope: Record<string, unknown> | null) =>
    otlpToRecords(oneLog({ body: str('x') }, resource, scope), { tenant: 't', nowNs: NOW })[0]!;
  const a = unit([kv('service.name', str('unknown_service:node')), kv('process.executable.name', str('node'))], { name: 'lib' });
  assert.equal(a.unit, 'node');
  assert.equal(a.service, 'unknown_service:node', 'service keeps what the SDK said');
  assert.equal(unit([], { name: 'my-logger' }).unit, 'my-logger');
  assert.equal(unit([], null).unit, '');
  assert.equal(unit([], null).host, '');
  assert.deepEqual(unit([], null).attrs, {}, 'no resource or scope attrs when there are none');
});

test('time falls back to observed time, then receipt; ids that are absent or zero are null', () => {
  const one = (log: Record<string, unknown>) => otlpToRecords(oneLog({ body: str('x'), ...log }), { tenant: 't', nowNs: NOW })[0]!;
  assert.equal(one({ observedTimeUnixNano: '1700000000000000001' }).ts, 1_700_000_000_000_000_001n);
  assert.equal(one({}).ts, NOW);
  assert.equal(one({ traceId: Buffer.alloc(16).toString('base64'), spanId: Buffer.alloc(8).toString('base64') }).trace_id, null);
  assert.equal(idToHex(undefined), null);
  assert.equal(idToHex(new Uint8Array([0, 0xab])), '00ab');
});

test('bodies: strings as they are, structures as JSON text', () => {
  assert.equal(bodyToMessage(undefined), '');
  const msg = (body: unknown) => otlpToRecords(oneLog({ body }), { tenant: 't', nowNs: NOW })[0]!.message;
  assert.equal(msg(str('line one\nline two')), 'line one\nline two');
  assert.equal(msg({ kvlistValue: { values: [kv('event', str('login')), kv('ok', { boolValue: true })] } }), '{"event":"login","ok":true}');
  assert.equal(msg({ arrayValue: { values: [{ intValue: 1 }, str('x')] } }), '[1,"x"]');
  assert.equal(msg({ intValue: 42 }), '42');
  assert.equal(msg({ doubleValue: 1.5 }), '1.5');
  assert.equal(msg({ boolValue: false }), 'false');
  assert.equal(msg({ bytesValue: Buffer.from('hi').toString('base64') }), 'aGk=');
  assert.equal(anyValueToJson({ value: 'doubleValue', doubleValue: Number.NaN }), 'NaN');
});

test('OTLP/JSON: hex ids, 64-bit integers as strings or numbers, enums as numbers', () => {
  const body = {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] },
        scopeLogs: [
          {
            scope: { name: 's' },
            logRecords: [
              { timeUnixNano: '1700000000000000123', severityNumber: 13, body: { stringValue: 'a' }, traceId: '5B8EFFF798038103D269B633813FC60C', spanId: 'eee19b7ec3c1b174', attributes: [{ key: 'n', value: { intValue: '7' } }] },
              { timeUnixNano: 1700000000000, severityNumber: 21, body: { stringValue: 'b' }, attributes: [{ key: 'n', value: { intValue: 8 } }] },
            ],
          },
        ],
      },
    ],
  };
  const records = otlpToRecords(decodeOtlpJson(Buffer.from(JSON.stringify(body))), { tenant: 't', nowNs: NOW });
  assert.equal(records.length, 2);
  assert.equal(records[0]!.ts, 1_700_000_000_000_000_123n);
  assert.equal(records[0]!.trace_id, '5b8efff798038103d269b633813fc60c');
  assert.equal(records[0]!.span_id, 'eee19b7ec3c1b174');
  assert.equal(records[0]!.severity, 4);
  assert.equal(records[0]!.attrs.n, 7);
  assert.equal(records[1]!.severity, 2);
  assert.equal(records[1]!.attrs.n, 8);
  assert.throws(() => decodeOtlpJson(Buffer.from('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}')), /resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]\.traceId: expected hex/);
  assert.throws(() => decodeOtlpJson(Buffer.from('{"resourceLogs":5}')), /not a valid OTLP\/JSON.*array expected/);
  assert.throws(() => decodeOtlpJson(Buffer.from('[1]')), /must be a JSON object/);
  assert.throws(() => decodeOtlpJson(Buffer.from('{"resourceLogs":')), /not valid JSON/);
});

test('os.type and 64-bit helpers', () => {
  assert.deepEqual(['windows', 'linux', 'darwin', 'freebsd', undefined].map(osFromOtel), ['windows', 'linux', 'macos', 'other', 'other']);
  assert.equal(int64ToBigInt({ low: -1, high: -1, unsigned: true }, true), 18446744073709551615n);
  assert.equal(int64ToBigInt({ low: -1, high: -1, unsigned: false }, false), -1n);
  assert.equal(int64ToBigInt('12', false), 12n);
  assert.equal(int64ToBigInt('x', false), undefined);
});

test('attribute values nested deeper than the limit are cut, not recursed into', () => {
  let v: Parameters<typeof anyValueToJson>[0] = { value: 'stringValue', stringValue: 'bottom' };
  for (let i = 0; i < 100_000; i++) v = { value: 'arrayValue', arrayValue: { values: [v] } };
  const json = anyValueToJson(v);
  let depth = 0;
  let cur: unknown = json;
  while (Array.isArray(cur)) {
    cur = cur[0];
    depth++;
  }
  assert.equal(depth, 65);
  assert.match(String(cur), /nested more than 64 levels/);
});
