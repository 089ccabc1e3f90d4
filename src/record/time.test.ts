import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dayOf, epochToNs, formatRfc3339Nano, parseRfc3339, parseTimestamp } from './time.ts';

const T = 1_700_000_000_123_456_789n; // 2023-11-14T22:13:20.123456789Z

test('RFC 3339 keeps nanoseconds and applies offsets', () => {
  assert.equal(parseRfc3339('2023-11-14T22:13:20.123456789Z'), T);
  assert.equal(parseRfc3339('2023-11-14T23:13:20.123456789+01:00'), T);
  assert.equal(parseRfc3339('2023-11-14T22:13:20Z'), 1_700_000_000_000_000_000n);
  assert.equal(parseRfc3339('2023-11-14 22:13:20.5Z'), 1_700_000_000_500_000_000n);
  assert.equal(parseRfc3339('2023-02-31T00:00:00Z'), undefined);
  assert.equal(parseRfc3339('yesterday'), undefined);
});

test('epoch numbers: unit told by magnitude', () => {
  assert.equal(epochToNs(1_700_000_000), 1_700_000_000_000_000_000n);
  assert.equal(epochToNs(1_700_000_000_123), 1_700_000_000_123_000_000n);
  assert.equal(epochToNs(1_700_000_000_123_456), 1_700_000_000_123_456_000n);
  assert.equal(epochToNs(T), T);
  assert.equal(epochToNs(1_700_000_000.25), 1_700_000_000_250_000_000n);
});

test('timestamps in JSON: numbers, numeric text, RFC 3339', () => {
  assert.equal(parseTimestamp('1700000000123456789'), T);
  assert.equal(parseTimestamp('1700000000'), 1_700_000_000_000_000_000n);
  assert.equal(parseTimestamp('2023-11-14T22:13:20.123456789Z'), T);
  assert.equal(parseTimestamp({}), undefined);
  assert.equal(parseTimestamp('soon'), undefined);
});

test('formatting round-trips and days partition by UTC date', () => {
  assert.equal(formatRfc3339Nano(T), '2023-11-14T22:13:20.123456789Z');
  assert.equal(parseRfc3339(formatRfc3339Nano(T)), T);
  assert.equal(dayOf(T), '2023-11-14');
});
