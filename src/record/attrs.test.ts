import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attrs } from './record.ts';
import { byDepth, setDotted } from './attrs.ts';

function build(pairs: [string, unknown][]): Attrs {
  const out: Attrs = {};
  for (const [k, v] of [...pairs].sort((a, b) => byDepth(a[0], b[0]))) setDotted(out, k, v as never);
  return out;
}

test('dotted keys become nested paths', () => {
  assert.deepEqual(build([['http.request.method', 'GET'], ['http.route', '/a'], ['plain', 1]]), { http: { request: { method: 'GET' }, route: '/a' }, plain: 1 });
});

test('a key that runs into an existing value keeps its dotted form; nothing is lost', () => {
  assert.deepEqual(build([['a.b', 2], ['a', 1]]), { a: 1, 'a.b': 2 });
  assert.deepEqual(build([['a.b.c', 3], ['a.b', 2]]), { a: { b: 2 }, 'a.b.c': 3 });
  assert.deepEqual(build([['.x', 1], ['y.', 2], ['p..q', 3]]), { '.x': 1, 'y.': 2, 'p..q': 3 }, 'odd keys stay as written');
});

test('"__proto__" is an ordinary key, not a prototype', () => {
  const out = build([['__proto__', { polluted: true }], ['x.__proto__.y', 1]]);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(JSON.stringify(out), '{"__proto__":{"polluted":true},"x":{"__proto__":{"y":1}}}');
});
