import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordFromAgent, type AgentRecord } from './records.ts';
import { recordFromJson } from '../../record/normalize/json.ts';

const now = 1_790_000_000_000_000_000n;
const ts = { low: 0x12345678, high: 0x18d, unsigned: false }; // some ns in 2024

/** What the agent path answered before it was written out by hand: the HTTP API's recordFromJson on the same fields. */
function viaJson(r: AgentRecord): unknown {
  const fields: Record<string, unknown> = { message: r.message ?? '', attrs: r.attrsJson ? JSON.parse(r.attrsJson) : {} };
  for (const [from, to] of [
    ['host', 'host'],
    ['unit', 'unit'],
    ['service', 'service'],
    ['severity', 'severity'],
    ['os', 'os'],
    ['type', 'type'],
    ['traceId', 'trace_id'],
    ['spanId', 'span_id'],
    ['correlationId', 'correlation_id'],
    ['raw', 'raw'],
  ] as const) {
    if (r[from] !== undefined && r[from] !== '') fields[to] = r[from];
  }
  const result = recordFromJson(fields, { tenant: 't1', nowNs: now });
  if ('error' in result) return result;
  result.record.ts = (BigInt(ts.high) << 32n) | BigInt(ts.low);
  if (r.recordId) result.record.attrs.record_id = r.recordId;
  return result;
}

test('agent records map as the HTTP API maps the same fields, errors included', () => {
  const cases: AgentRecord[] = [
    { tsUnixNano: ts, message: 'plain' },
    { tsUnixNano: ts, message: 'all', host: 'h', unit: 'u.service', service: 's', severity: 3, os: 'Linux', type: 'system', traceId: 'ab', spanId: 'cd', correlationId: 'x', raw: 'RAW', recordId: 'r1' },
    { tsUnixNano: ts, message: 'attrs', attrsJson: '{"file":"/var/log/a.log","n":1,"ok":true}' },
    { tsUnixNano: ts, message: 'nested attrs', attrsJson: '{"a":{"b":[1,2]}}' },
    { tsUnixNano: ts, message: 'bad os', os: 'plan9' },
    { tsUnixNano: ts, message: 'bad type', type: 'kernel' },
    { tsUnixNano: ts, message: 'bad severity', severity: 9 },
    { tsUnixNano: ts, message: 'deep', attrsJson: '{"a":' + '['.repeat(70) + ']'.repeat(70) + '}' },
  ];
  for (const r of cases) assert.deepEqual(recordFromAgent(r, 't1', now, true), viaJson(r), r.message);
});

test('attrs_json that is not an object is refused; unset time is the receive time', () => {
  assert.match((recordFromAgent({ message: 'x', attrsJson: '[1]' }, 't', now, false) as { error: string }).error, /^attrs_json: must be a JSON object/);
  assert.match((recordFromAgent({ message: 'x', attrsJson: '{"a":' }, 't', now, false) as { error: string }).error, /^attrs_json: not valid JSON/);
  const r = recordFromAgent({ message: 'x', tsUnixNano: 0, raw: 'kept only when asked' }, 't', now, false) as { record: { ts: bigint; raw: string | null } };
  assert.equal(r.record.ts, now);
  assert.equal(r.record.raw, null);
});

test('records sharing an attrs text get attrs of their own (a stage changing one changes no other)', () => {
  const text = '{"file":"/var/log/a.log","__proto__":"own"}';
  const a = recordFromAgent({ tsUnixNano: 0, message: 'a', attrsJson: text }, 't', now, false) as { record: { attrs: Record<string, unknown> } };
  const b = recordFromAgent({ tsUnixNano: 0, message: 'b', attrsJson: text }, 't', now, false) as { record: { attrs: Record<string, unknown> } };
  const c = recordFromAgent({ tsUnixNano: 0, message: 'c', attrsJson: text, recordId: 'id-c' }, 't', now, false) as { record: { attrs: Record<string, unknown> } };
  a.record.attrs.file = 'changed';
  assert.equal(b.record.attrs.file, '/var/log/a.log');
  assert.equal(Object.getPrototypeOf(b.record.attrs), Object.prototype);
  assert.ok(Object.hasOwn(b.record.attrs, '__proto__'), '__proto__ stays an own key');
  assert.equal(c.record.attrs.record_id, 'id-c');
  assert.equal(b.record.attrs.record_id, undefined);
});
