import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord, encodeFields, int64Bits, SharedFieldsEncoder } from './record.ts';

test('SharedFieldsEncoder writes what protobufjs writes, field for field', () => {
  const shared = { host: 'web-01', unit: 'app.log', service: 'shop', severity: 6, os: 'linux', type: 'application', attrsJson: '{"file":"/var/log/app.log"}' };
  const encoder = new SharedFieldsEncoder(shared);
  const messages = ['', 'plain line', 'ünïcødé ✓ 日本語 🎉', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(20_000), 'w'.repeat(3_000_000)];
  const times = [0n, 1n, 1_795_249_484_379_000_000n, -1n, -86_400_000_000_000n, (1n << 62n) + 12345n];
  for (const message of messages) {
    for (const ns of times) {
      const ts = int64Bits(ns);
      const expected = decodeRecord(encodeFields({ ...shared, tsUnixNano: ts, message }));
      assert.deepEqual(decodeRecord(encoder.encode(message, ts)), expected, `message of ${message.length} chars at ${ns}`);
    }
  }
});

test('SharedFieldsEncoder packs records back to back, each within its maxBytes', () => {
  const encoder = new SharedFieldsEncoder({ host: 'h', unit: 'u', attrsJson: '{"file":"/f"}' });
  const messages = ['a', 'ünïcødé', 'x'.repeat(300), ''];
  const ts = int64Bits(1_795_249_484_379_000_000n);
  const sizes = messages.map((m) => Buffer.byteLength(m));
  const out = Buffer.alloc(sizes.reduce((n, b) => n + encoder.maxBytes(b), 0));
  let at = 0;
  for (const [i, m] of messages.entries()) {
    const end = encoder.write(out, at, m, sizes[i]!, ts);
    assert.ok(end - at <= encoder.maxBytes(sizes[i]!));
    assert.deepEqual(decodeRecord(out.subarray(at, end)), decodeRecord(encoder.encode(m, ts)));
    at = end;
  }
});
