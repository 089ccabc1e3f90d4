import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addFilter, andTerm, filterTerm, hasTopLevelOr, isQueryableField, quoteValue, splitTopLevel, templateQuery } from './query-build.ts';
// The server's own parser: a built query must mean exactly what the click meant.
import { parseSearch } from '../../../src/query/search.ts';

const HOSTILE = ['web-1', 'a b', 'say "hi"', 'back\\slash', '*', 'a*b', '/etc/passwd', '-x', 'OR', '(x)', '<script>alert(1)</script>', 'ünïcode', 'tab\there', ''];

test('every value round-trips through the server parser as an exact match', () => {
  for (const value of HOSTILE) {
    const expr = parseSearch(`host:${quoteValue(value)}`) as { type: string; value?: unknown };
    assert.equal(expr.type, 'eq', `host:${quoteValue(value)}`);
    assert.equal(expr.value, value);
  }
});

test('filtering out negates exactly that value', () => {
  for (const value of HOSTILE) {
    const expr = parseSearch(filterTerm('service', value, 'out')) as { type: string; item: { type: string; value: unknown } };
    assert.equal(expr.type, 'not');
    assert.equal(expr.item.type, 'eq');
    assert.equal(expr.item.value, value);
  }
});

test('message values become phrases (a substring search), never globs or fields', () => {
  for (const value of ['error:timeout', 'conn*', 'a "quoted" word', 'x\\y']) {
    const expr = parseSearch(filterTerm('message', value, 'in')) as { type: string; value: unknown };
    assert.deepEqual(expr, { type: 'text', value });
  }
  assert.equal(filterTerm('message', 'boom', 'out'), '-"boom"');
});

test('attrs filters keep their path; severity uses its name', () => {
  assert.deepEqual(parseSearch(filterTerm('attrs.http.status', '500', 'in')), {
    type: 'eq',
    field: { kind: 'attr', path: ['http', 'status'] },
    value: '500',
  });
  assert.equal((parseSearch(filterTerm('level', 'err', 'in')) as { value: unknown }).value, 3);
});

test('addFilter appends, replaces the opposite term, and ignores a repeat', () => {
  assert.equal(addFilter('', 'host', 'web-1', 'in'), 'host:web-1');
  assert.equal(addFilter('timeout', 'host', 'web-1', 'in'), 'timeout host:web-1');
  assert.equal(addFilter('timeout host:web-1', 'host', 'web-1', 'in'), 'timeout host:web-1');
  assert.equal(addFilter('timeout host:web-1', 'host', 'web-1', 'out'), 'timeout -host:web-1');
  assert.equal(addFilter('"a b" -host:"x y"', 'host', 'x y', 'in'), '"a b" host:"x y"');
});

test('addFilter wraps a query with a top-level OR so the filter applies to all of it', () => {
  const q = addFilter('a OR b', 'host', 'web-1', 'in');
  assert.equal(q, '(a OR b) host:web-1');
  const expr = parseSearch(q) as { type: string; items: { type: string }[] };
  assert.equal(expr.type, 'and');
  assert.equal(expr.items[0]!.type, 'or');
  assert.equal(addFilter('(a OR b) c', 'host', 'x', 'in'), '(a OR b) c host:x');
  assert.equal(hasTopLevelOr('"a OR b" c'), false);
  assert.equal(hasTopLevelOr('host:/a OR b/'), false);
  assert.equal(hasTopLevelOr('ORDER x'), false);
});

test('andTerm keeps the new term applying to the whole query', () => {
  assert.equal(andTerm('', 'template_id:t1'), 'template_id:t1');
  assert.equal(andTerm('a b', 'template_id:t1'), 'a b template_id:t1');
  assert.equal(andTerm('a OR b', '(template_id:t1 OR template_id:t2)'), '(a OR b) (template_id:t1 OR template_id:t2)');
});

test('splitTopLevel keeps quotes, regexes and groups whole', () => {
  assert.deepEqual(splitTopLevel('a "b c" host:/x y/ (d OR e) -f:"g h"'), ['a', '"b c"', 'host:/x y/', '(d OR e)', '-f:"g h"']);
});

test('queryable field names follow the search syntax', () => {
  assert.ok(isQueryableField('attrs.http.status'));
  assert.ok(isQueryableField('host'));
  assert.ok(!isQueryableField('attrs.user-agent'));
  assert.ok(!isQueryableField('attrs.a b'));
  assert.ok(!isQueryableField('attrs.'));
});

test('a template and its merged ids become one OR group', () => {
  assert.equal(templateQuery('t1'), 'template_id:t1');
  const q = templateQuery('t1', ['t0', 't2']);
  const expr = parseSearch(q) as { type: string; items: unknown[] };
  assert.equal(expr.type, 'or');
  assert.equal(expr.items.length, 3);
});
