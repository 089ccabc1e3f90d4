import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileJsRegex } from './regex.ts';

test('a hostile regex from a query runs in linear time, with and without (?i)', () => {
  const line = 'x'.repeat(5000);
  for (const pattern of ['(x+x+)+y', '(?i)(x+x+)+y', '(?i)(a|aa)+$']) {
    const re = compileJsRegex(pattern);
    const started = performance.now();
    assert.equal(re.test(line), false);
    // Exponential backtracking on 5000 characters would not finish at all; linear time is milliseconds.
    assert.ok(performance.now() - started < 5000, pattern);
  }
});

test('RE2 spellings, anchoring and flags still work', () => {
  assert.ok(compileJsRegex('(?i)ERROR').test('an error here'));
  assert.ok(compileJsRegex('(?P<code>\\d{3})').test('status 500'));
  assert.ok(compileJsRegex('web-\\d+', { anchored: true }).test('web-12'));
  assert.equal(compileJsRegex('web-\\d+', { anchored: true }).test('xweb-12'), false);
  assert.ok(compileJsRegex('(?i)web', { anchored: true }).test('WEB'));
  assert.equal('a1b2'.replace(compileJsRegex('\\d', { extraFlags: 'g' }), '#'), 'a#b#');
  assert.throws(() => compileJsRegex('(a)\\1'), /regex/);
});
