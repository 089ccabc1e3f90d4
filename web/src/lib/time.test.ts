import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRange, formatTs, fromInputValue, msToNs, parseTimeInput, resolveRange, toInputValue } from './time.ts';

const NOW = Date.parse('2026-01-05T12:00:00Z');

test('relative, absolute and epoch bounds', () => {
  assert.equal(parseTimeInput('now', NOW), NOW);
  assert.equal(parseTimeInput('now-15m', NOW), NOW - 900_000);
  assert.equal(parseTimeInput('now - 2d', NOW), NOW - 2 * 86_400_000);
  assert.equal(parseTimeInput('now+1h', NOW), NOW + 3_600_000);
  assert.equal(parseTimeInput('2026-01-05T10:00:00Z', NOW), Date.parse('2026-01-05T10:00:00Z'));
  assert.equal(parseTimeInput('2026-01-05T10:00:00.250+01:00', NOW), Date.parse('2026-01-05T09:00:00.250Z'));
  assert.equal(parseTimeInput('1767607200', NOW), 1_767_607_200_000);
  assert.equal(parseTimeInput('1767607200123', NOW), 1_767_607_200_123);
  for (const bad of ['', 'yesterday', 'now-', 'now-5x', '2026-13-45T99:00']) assert.equal(parseTimeInput(bad, NOW), undefined, bad);
});

test('the default range is the last hour; bad ranges fall back and say why', () => {
  assert.deepEqual(resolveRange('', '', NOW), { fromMs: NOW - 3_600_000, toMs: NOW });
  assert.match(resolveRange('banana', '', NOW).error!, /not a time/);
  assert.match(resolveRange('now', 'now-1h', NOW).error!, /starts after/);
});

test('bounds go to the API as epoch nanoseconds', () => {
  assert.equal(msToNs(1_767_607_200_123), '1767607200123000000');
});

test('UTC display keeps the nanoseconds', () => {
  assert.equal(formatTs('2026-01-05T10:00:00.123456789Z', 'utc'), '2026-01-05 10:00:00.123456789Z');
  assert.equal(formatTs('2026-01-05T10:00:00.5Z', 'utc'), '2026-01-05 10:00:00.500Z');
});

test('ranges are described for people', () => {
  assert.equal(describeRange('', '', 'utc'), 'Last hour');
  assert.equal(describeRange('now-90m', 'now', 'utc'), 'Last 90m');
  assert.equal(describeRange('2026-01-05T10:00:00Z', '2026-01-05T11:00:00Z', 'utc'), '2026-01-05 10:00:00 → 2026-01-05 11:00:00');
});

test('datetime-local inputs round-trip in UTC', () => {
  const ms = Date.parse('2026-01-05T10:30:00Z');
  assert.equal(toInputValue(ms, 'utc'), '2026-01-05T10:30:00');
  assert.equal(fromInputValue('2026-01-05T10:30', 'utc'), '2026-01-05T10:30:00.000Z');
  assert.equal(fromInputValue('garbage', 'utc'), undefined);
});
