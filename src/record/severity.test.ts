import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSeverity, severityName, SEVERITY_NAMES } from './severity.ts';

test('syslog names and numbers map both ways', () => {
  SEVERITY_NAMES.forEach((name, n) => {
    assert.equal(parseSeverity(name), n);
    assert.equal(parseSeverity(n), n);
    assert.equal(parseSeverity(String(n)), n);
    assert.equal(severityName(n), name);
  });
});

test('common aliases', () => {
  assert.equal(parseSeverity('ERROR'), 3);
  assert.equal(parseSeverity('Warn'), 4);
  assert.equal(parseSeverity('fatal'), 2);
  assert.equal(parseSeverity('trace'), 7);
  assert.equal(parseSeverity('information'), 6);
});

test('unknown values are undefined, not a guess', () => {
  assert.equal(parseSeverity('loud'), undefined);
  assert.equal(parseSeverity(8), undefined);
  assert.equal(parseSeverity(-1), undefined);
  assert.equal(parseSeverity(2.5), undefined);
  assert.equal(parseSeverity(null), undefined);
});
