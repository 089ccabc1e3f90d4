import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord, encodeFields, int64Bits, sharedFieldsEncoder } from './record.ts';

test('sharedFieldsEncoder writes what protobufjs writes, field for field', () => {
  const shared = { host: 'web-01', unit: 'app.log', service: 'shop', severity: 6, os: 'linux', type: 'application', attrsJson: '{"file":"/var/log/app.log"}' };
  const encode = sharedFieldsEncoder(shared);
  const messages = ['', 'plain line', 'ünïcødé ✓ 日本語 🎉', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(20_000), 'w'.repeat(3_000_000)];
  const times = [0n, 1n, 1_795_249_484_379_000_000n, -1n, -86_400_000_000_000n, (1n << 62n) + 12345n];
  for (const message of messages) {
    for (const ns of times) {
      const ts = int64Bits(ns);
      const expected = decodeRecord(encodeFields({ ...shared, tsUnixNano: ts, message }));
      assert.deepEqual(decodeRecord(encode(message, ts)), expected, `message of ${message.length} chars at ${ns}`);
    }
  }
});
