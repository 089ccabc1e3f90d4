import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attrs } from './record.ts';
import { cloneJson, expandAttributes, setDotted } from './attrs.ts';

const build = (pairs: [string, unknown][]): Attrs => expandAttributes(pairs as [string, never][]);

test('dotted keys become nested paths', () => {
  assert.deepEqual(build([['http.request.method', 'GET'], ['http.route', '/a'], ['plain', 1]]), { http: { request: { method: 'GET' }, route: '/a' }, plain: 1 });
});

test('a key that runs into an existing value keeps its dotted form; nothing is lost, whatever the order', () => {
  assert.deepEqual(build([['a.b', 2], ['a', 1]]), { a: 1, 'a.b': 2 });
  assert.deepEqual(build([['a', 1], ['a.b', 2]]), { a: 1, 'a.b': 2 });
  const direct: Attrs = {};
  assert.equal(setDotted(direct, 'x.y', 1), true);
  assert.equal(setDotted(direct, 'x', 2), false, 'a collision is reported so the caller can redo in depth order');
  assert.deepEqual(build([['a.b.c', 3], ['a.b', 2]]), { a: { b: 2 }, 'a.b.c': 3 });
  assert.deepEqual(build([['.x', 1], ['y.', 2], ['p..q', 3]]), { '.x': 1, 'y.': 2, 'p..q': 3 }, 'odd keys stay as written');
});

test('"__proto__" is an ordinary key, not a prototype', () => {
  const out = build([['__proto__', { polluted: true }], ['x.__proto__.y', 1]]);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(JSON.stringify(out), '{"__proto__":{"polluted":true},"x":{"__proto__":{"y":1}}}');
});

test('cloneJson copies deeply', () => {
  const a = { x: { y: [1, { z: 2 }] } };
  const b = cloneJson(a);
  assert.deepEqual(b, a);
  (b.x.y[1] as { z: number }).z = 3;
  assert.equal((a.x.y[1] as { z: number }).z, 2);
});
