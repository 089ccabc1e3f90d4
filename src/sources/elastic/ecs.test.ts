import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandDots, recordFromEcs } from './ecs.ts';

const d = { tenant: 'acme', nowNs: 1_700_000_000_000_000_000n };
const meta = { index: 'logs', id: null };

function map(doc: Record<string, unknown>, m: { index: string; id: string | null } = meta) {
  const result = recordFromEcs(doc, m, d);
  if ('error' in result) throw new Error(result.error);
  return result.record;
}

test('dotted and nested spellings map the same way', () => {
  const dotted = map({ '@timestamp': '2024-05-01T10:00:00.5Z', message: 'm', 'log.level': 'error', 'host.name': 'h1', 'service.name': 's', 'event.dataset': 'nginx.access' });
  const nested = map({ '@timestamp': '2024-05-01T10:00:00.5Z', message: 'm', log: { level: 'error' }, host: { name: 'h1' }, service: { name: 's' }, event: { dataset: 'nginx.access' } });
  assert.deepEqual(dotted, nested);
  assert.deepEqual([dotted.ts, dotted.severity, dotted.host, dotted.service], [1714557600500000000n, 3, 'h1', 's']);
  assert.deepEqual(dotted.attrs, { event: { dataset: 'nginx.access' }, _index: 'logs' });
});

test('a Filebeat event: the mapped leaves leave attrs, the rest stays nested', () => {
  const r = map({
    '@timestamp': '2024-05-01T10:00:00Z',
    message: 'GET /index.html 200',
    host: { name: 'web-1', hostname: 'web-1.local', os: { type: 'windows', family: 'windows' } },
    agent: { type: 'filebeat', version: '8.17.0', hostname: 'web-1' },
    log: { file: { path: '/var/log/nginx/access.log' }, offset: 42 },
    process: { name: 'nginx', pid: 12 },
    trace: { id: 't1' },
    span: { id: 's1' },
    ecs: { version: '8.0.0' },
  });
  assert.deepEqual([r.host, r.unit, r.os, r.trace_id, r.span_id, r.type], ['web-1', 'nginx', 'windows', 't1', 's1', 'application']);
  assert.deepEqual(r.attrs, {
    host: { hostname: 'web-1.local', os: { type: 'windows', family: 'windows' } },
    agent: { type: 'filebeat', version: '8.17.0', hostname: 'web-1' },
    log: { file: { path: '/var/log/nginx/access.log' }, offset: 42 },
    process: { pid: 12 },
    ecs: { version: '8.0.0' },
    _index: 'logs',
  });
});

test('Logstash (plain host, free-form type), Fluent Bit (log), Winlogbeat (channel, provider)', () => {
  const ls = map({ message: 'x', host: 'box', type: 'nginx', '@version': '1' });
  assert.deepEqual([ls.host, ls.type, ls.attrs], ['box', 'application', { type: 'nginx', '@version': '1', _index: 'logs' }]);
  const fb = map({ '@timestamp': '2024-05-01T10:00:00Z', log: 'container line\n', stream: 'stdout' });
  assert.deepEqual([fb.message, fb.attrs], ['container line\n', { stream: 'stdout', _index: 'logs' }]);
  const wl = map({ message: 'An account was logged on', log: { level: 'information' }, winlog: { channel: 'Security', provider_name: 'Microsoft-Windows-Security-Auditing', event_id: '4624' } });
  assert.deepEqual([wl.type, wl.unit, wl.severity], ['system', 'Microsoft-Windows-Security-Auditing', 6]);
  assert.deepEqual(wl.attrs.winlog, { channel: 'Security', event_id: '4624' });
});

test('no message: empty message, everything kept; an unknown level stays an attr; _id is kept', () => {
  const r = map({ metric: { value: 3 }, level: 'chatty' }, { index: 'metrics', id: 'abc' });
  assert.deepEqual([r.message, r.severity, r.attrs], ['', 6, { metric: { value: 3 }, level: 'chatty', _index: 'metrics', _id: 'abc' }]);
  assert.equal(map({ message: 'm', log: { syslog: { severity: { code: 2 } } } }).severity, 2);
});

test('an invalid @timestamp is a document error naming the field', () => {
  const result = recordFromEcs({ '@timestamp': 'yesterday', message: 'm' }, meta, d);
  assert.ok('error' in result);
  assert.match(result.error, /^@timestamp: not a timestamp/);
});

test('keys that cannot merge stay dotted; __proto__ never reaches a prototype', () => {
  assert.deepEqual(expandDots({ a: 1, 'a.b': 2 }), { a: 1, 'a.b': 2 });
  assert.deepEqual(expandDots({ 'a.b': 1, a: { c: 2 }, 'x..y': 3 }), { a: { b: 1, c: 2 }, 'x..y': 3 });
  const evil = JSON.parse('{"__proto__": {"polluted": 1}, "a.__proto__.polluted": 1, "constructor.prototype.polluted": 1, "message": "m"}');
  const r = map(evil);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(r.attrs), Object.prototype);
  assert.deepEqual(r.attrs, { constructor: { prototype: { polluted: 1 } }, _index: 'logs' });
  assert.equal(({} as Record<string, unknown>).constructor, Object);
});
