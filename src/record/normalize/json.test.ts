import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordFromJson } from './json.ts';

const d = { tenant: 'acme', nowNs: 1_800_000_000_000_000_000n };

test('core fields, aliases and attrs', () => {
  const res = recordFromJson(
    { timestamp: '2024-01-01T00:00:00Z', msg: 'hi', level: 'WARN', hostname: 'h', service: 's', user: { id: 1 }, attrs: { a: 1 } },
    d,
  );
  assert.ok('record' in res);
  const r = res.record;
  assert.equal(r.ts, 1_704_067_200_000_000_000n);
  assert.equal(r.message, 'hi');
  assert.equal(r.severity, 4);
  assert.equal(r.host, 'h');
  assert.equal(r.service, 's');
  assert.deepEqual(r.attrs, { user: { id: 1 }, a: 1 });
  assert.equal(r.tenant, 'acme');
});

test('a sender cannot choose its tenant', () => {
  const res = recordFromJson({ message: 'x', tenant: 'other' }, d);
  assert.ok('record' in res);
  assert.equal(res.record.tenant, 'acme');
  assert.equal(res.record.attrs.tenant, undefined);
});

test('errors name the field', () => {
  assert.match((recordFromJson({ message: 'x', ts: 'soon' }, d) as { error: string }).error, /^ts:/);
  assert.match((recordFromJson({ message: 'x', level: 'loud' }, d) as { error: string }).error, /^level:/);
  assert.match((recordFromJson({ message: 'x', os: 'beos' }, d) as { error: string }).error, /^os:/);
  assert.match((recordFromJson({ ts: 1 }, d) as { error: string }).error, /missing "message"/);
  assert.match((recordFromJson([1], d) as { error: string }).error, /JSON object/);
});

test('an attr named __proto__ is stored, not turned into a prototype', () => {
  const res = recordFromJson(JSON.parse('{"message":"x","__proto__":{"polluted":true},"attrs":{"__proto__":{"p2":1}}}'), d);
  assert.ok('record' in res);
  const attrs = res.record.attrs;
  assert.equal(Object.getPrototypeOf(attrs), Object.prototype);
  assert.equal((attrs as Record<string, unknown>).polluted, undefined);
  assert.equal(JSON.stringify(attrs), '{"__proto__":{"p2":1}}');
});

test('lenient: values that do not parse stay in attrs; no message field → the JSON text', () => {
  const res = recordFromJson({ log: 'x', level: 30, time: 'soon', os: 'beos', type: 'odd', attrs: 5 }, { ...d, lenient: true });
  assert.ok('record' in res);
  assert.equal(res.record.message, 'x');
  assert.equal(res.record.severity, 6);
  assert.equal(res.record.ts, d.nowNs);
  assert.deepEqual(res.record.attrs, { level: 30, time: 'soon', os: 'beos', type: 'odd', attrs: 5 });
  const bare = recordFromJson({ cpu: 0.5, log: { nested: true } }, { ...d, lenient: true });
  assert.ok('record' in bare);
  assert.equal(bare.record.message, '{"cpu":0.5,"log":{"nested":true}}');
  assert.deepEqual(bare.record.attrs, { cpu: 0.5, log: { nested: true } });
});

test('eventTs: the transport time wins, the object time keys stay in attrs', () => {
  const res = recordFromJson({ message: 'x', time: '2024-01-01T00:00:00Z' }, { ...d, eventTs: 5n });
  assert.ok('record' in res);
  assert.equal(res.record.ts, 5n);
  assert.deepEqual(res.record.attrs, { time: '2024-01-01T00:00:00Z' });
});
