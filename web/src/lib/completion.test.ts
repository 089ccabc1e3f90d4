import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCompletion, completionContext, rankFields, rankValues, staticValues } from './completion.ts';

test('a field name is being typed', () => {
  assert.deepEqual(completionContext('timeout ser', 11), { kind: 'field', prefix: 'ser', start: 8, end: 11 });
  assert.deepEqual(completionContext('-ho', 3), { kind: 'field', prefix: 'ho', start: 1, end: 3 });
  assert.deepEqual(completionContext('(a OR ho', 8), { kind: 'field', prefix: 'ho', start: 6, end: 8 });
  assert.deepEqual(completionContext('', 0), { kind: 'field', prefix: '', start: 0, end: 0 });
});

test('a value is being typed', () => {
  assert.deepEqual(completionContext('host:we', 7), { kind: 'value', field: 'host', prefix: 'we', start: 5, end: 7 });
  assert.deepEqual(completionContext('x -attrs.status!=5', 18), { kind: 'value', field: 'attrs.status', prefix: '5', start: 17, end: 18 });
  assert.deepEqual(completionContext('host:"web 1', 11), { kind: 'value', field: 'host', prefix: 'web 1', start: 5, end: 11 });
});

test('no completion inside a phrase or a regex', () => {
  assert.equal(completionContext('"connection res', 15), null);
  assert.equal(completionContext('host:/web', 9), null);
});

test('the cursor in the middle of a term completes the whole term', () => {
  const ctx = completionContext('host:we level:err', 6)!;
  assert.deepEqual(ctx, { kind: 'value', field: 'host', prefix: 'w', start: 5, end: 7 });
  assert.deepEqual(applyCompletion('host:we level:err', ctx, 'web-1'), { text: 'host:web-1 level:err', cursor: 11 });
});

test('picking a field adds the colon; picking a value quotes it and moves on', () => {
  assert.deepEqual(applyCompletion('timeout ser', completionContext('timeout ser', 11)!, 'service'), { text: 'timeout service:', cursor: 16 });
  assert.deepEqual(applyCompletion('host:', completionContext('host:', 5)!, 'web 1'), { text: 'host:"web 1" ', cursor: 13 });
});

test('ranking: prefix matches first, with or without attrs.', () => {
  const names = ['host', 'service', 'attrs.status', 'attrs.http.host', 'attrs.user'];
  assert.deepEqual(rankFields(names, 'st'), ['attrs.status', 'host', 'attrs.http.host']);
  assert.deepEqual(rankFields(names, 'ho'), ['host', 'attrs.http.host']);
  assert.deepEqual(rankValues(['web-1', 'db-1', 'WEB-2'], 'web'), ['web-1', 'WEB-2']);
  assert.deepEqual(rankValues(['db-web', 'web-1'], 'web'), ['web-1', 'db-web']);
});

test('severity, os and type values are known without asking', () => {
  assert.ok(staticValues('level')!.includes('warning'));
  assert.deepEqual(staticValues('os'), ['linux', 'windows', 'macos', 'other']);
  assert.equal(staticValues('host'), undefined);
});
