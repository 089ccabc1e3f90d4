import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopback, splitHostPort } from './hostport.ts';

test('loopback means loopback addresses and localhost, not names that start with 127.', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopback(host), true, host);
  for (const host of ['127.example.com', '0.0.0.0', '10.0.0.1', '::', 'example.com']) assert.equal(isLoopback(host), false, host);
});

test('HOST:PORT splits, with IPv6 brackets removed', () => {
  assert.deepEqual(splitHostPort('[::1]:7480'), { host: '::1', port: 7480 });
  assert.deepEqual(splitHostPort(':514'), { host: '0.0.0.0', port: 514 });
});
