import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QueryParseError, parseSearch } from './search.ts';
import type { Expr } from './ast.ts';

const core = (name: string) => ({ kind: 'core', name });
const attr = (...path: string[]) => ({ kind: 'attr', path });

test('words and phrases search the message', () => {
  assert.deepEqual(parseSearch('timeout'), { type: 'text', value: 'timeout' });
  assert.deepEqual(parseSearch('"connection reset"'), { type: 'text', value: 'connection reset' });
  assert.deepEqual(parseSearch(''), { type: 'all' });
});

test('the example from DESIGN.md', () => {
  const e = parseSearch('timeout service:api level>=warning host:web-* "connection reset"');
  assert.deepEqual(e, {
    type: 'and',
    items: [
      { type: 'text', value: 'timeout' },
      { type: 'eq', field: core('service'), value: 'api' },
      { type: 'cmp', field: core('severity'), op: '<=', value: 4 },
      { type: 'glob', field: core('host'), pattern: 'web-*', caseInsensitive: true },
      { type: 'text', value: 'connection reset' },
    ],
  } as Expr);
});

test('negation, OR, AND, NOT and parentheses', () => {
  assert.deepEqual(parseSearch('-debug'), { type: 'not', item: { type: 'text', value: 'debug' } });
  assert.deepEqual(parseSearch('a OR b c'), {
    type: 'or',
    items: [{ type: 'text', value: 'a' }, { type: 'and', items: [{ type: 'text', value: 'b' }, { type: 'text', value: 'c' }] }],
  });
  assert.deepEqual(parseSearch('(a OR b) AND NOT host:x'), {
    type: 'and',
    items: [
      { type: 'or', items: [{ type: 'text', value: 'a' }, { type: 'text', value: 'b' }] },
      { type: 'not', item: { type: 'eq', field: core('host'), value: 'x', caseInsensitive: true } },
    ],
  } as Expr);
  assert.deepEqual(parseSearch('host!=x'), { type: 'not', item: { type: 'eq', field: core('host'), value: 'x', caseInsensitive: true } } as Expr);
});

test('fields: attrs paths, other names as attrs, regex, exists, numbers', () => {
  assert.deepEqual(parseSearch('attrs.user.id:42'), { type: 'eq', field: attr('user', 'id'), value: '42' } as Expr);
  assert.deepEqual(parseSearch('status>=500'), { type: 'cmp', field: attr('status'), op: '>=', value: 500 } as Expr);
  assert.deepEqual(parseSearch('host:/web-\\d+/'), { type: 'regex', field: core('host'), pattern: 'web-\\d+' } as Expr);
  assert.deepEqual(parseSearch('trace_id:*'), { type: 'exists', field: core('trace_id') } as Expr);
  assert.deepEqual(parseSearch('service:"my api"'), { type: 'eq', field: core('service'), value: 'my api' } as Expr);
  assert.deepEqual(parseSearch('level:error'), { type: 'eq', field: core('severity'), value: 3 } as Expr);
});

test('severity compares by badness', () => {
  assert.deepEqual(parseSearch('severity>warning'), { type: 'cmp', field: core('severity'), op: '<', value: 4 } as Expr);
  assert.deepEqual(parseSearch('level<=notice'), { type: 'cmp', field: core('severity'), op: '>=', value: 5 } as Expr);
});

test('time comparisons accept RFC 3339 and relative times', () => {
  const now = 1_800_000_000_000_000_000n;
  assert.deepEqual(parseSearch('ts>=now-1h', { nowNs: now }), { type: 'cmp', field: core('ts'), op: '>=', value: now - 3_600_000_000_000n } as Expr);
  assert.deepEqual(parseSearch('ts<2024-01-01T00:00:00Z'), { type: 'cmp', field: core('ts'), op: '<', value: 1_704_067_200_000_000_000n } as Expr);
});

test('text that only looks like a field stays text', () => {
  assert.deepEqual(parseSearch('http://example.com'), { type: 'text', value: 'http://example.com' });
  assert.deepEqual(parseSearch('ERROR:'), { type: 'text', value: 'ERROR:' });
  assert.deepEqual(parseSearch('10:32:01'), { type: 'text', value: '10:32:01' });
});

test('parse errors give the position and what was expected', () => {
  const cases: [string, number, RegExp][] = [
    ['"open', 0, /closing "/],
    ['(a OR b', 7, /"\)"/],
    ['a )', 2, /term/],
    ['level>=loud', 7, /emerg/],
    ['status>abc', 7, /number/],
    ['host:/x', 5, /closing \//],
    ['a OR', 4, /word/],
  ];
  for (const [q, pos, expected] of cases) {
    assert.throws(
      () => parseSearch(q),
      (err: unknown) => err instanceof QueryParseError && err.position === pos && expected.test(err.expected),
      q,
    );
  }
});

test('prefixes, record ids and case rules for field values', () => {
  assert.deepEqual(parseSearch('conn*'), { type: 'prefix', value: 'conn' });
  assert.deepEqual(parseSearch('*'), { type: 'text', value: '*' });
  assert.deepEqual(parseSearch('a*b'), { type: 'text', value: 'a*b' });
  const id = '17a0b1c2d3e4f5a60123456789abcdef';
  assert.deepEqual(parseSearch(`id:${id.toUpperCase()}`), { type: 'id', id });
  assert.deepEqual(parseSearch('id:42'), { type: 'eq', field: attr('id'), value: '42' } as Expr);
  assert.deepEqual(parseSearch('os:Windows'), { type: 'eq', field: core('os'), value: 'windows' } as Expr);
  assert.deepEqual(parseSearch('host:WEB-1'), { type: 'eq', field: core('host'), value: 'WEB-1', caseInsensitive: true } as Expr);
  assert.deepEqual(parseSearch('service:API'), { type: 'eq', field: core('service'), value: 'API' } as Expr);
});
