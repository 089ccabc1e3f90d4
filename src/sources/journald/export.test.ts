import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { binaryField, exportEntry as entry, textField } from '../../../test/helpers/journal-export.ts';
import { ExportFormatError, JournalExportParser, type ExportLimits, type ParsedEntry } from './export.ts';

const LIMITS: ExportLimits = { maxFieldBytes: 1024, maxEntryBytes: 4096, maxFields: 16, oversize: 'reject' };

function parseAll(data: Buffer, chunkSize = data.length, limits = LIMITS): ParsedEntry[] {
  const p = new JournalExportParser(limits);
  const out: ParsedEntry[] = [];
  for (let i = 0; i < data.length; i += chunkSize) out.push(...p.push(data.subarray(i, i + chunkSize)));
  out.push(...p.end());
  return out;
}

const sample = Buffer.concat([
  entry(textField('__CURSOR', 's=1;i=1'), textField('__REALTIME_TIMESTAMP', '1714557600123456'), textField('MESSAGE', 'hello'), textField('PRIORITY', '3')),
  entry(textField('MESSAGE', 'ignored first'), binaryField('MESSAGE_BIN', 'line one\nline two'), binaryField('BLOB', Buffer.from([0, 1, 0xff, 0x0a, 0x0a, 0x3d])), binaryField('EMPTY', '')),
  entry(textField('TAG', 'a'), textField('TAG', 'b'), textField('TAG', 'c=d')),
]);

test('text fields, binary-safe fields (newlines, NUL, "="), repeated fields', () => {
  const entries = parseAll(sample);
  assert.equal(entries.length, 3);
  assert.deepEqual(entries[0]!.fields, { __CURSOR: 's=1;i=1', __REALTIME_TIMESTAMP: '1714557600123456', MESSAGE: 'hello', PRIORITY: '3' });
  const e2 = entries[1]!.fields;
  assert.deepEqual(e2.MESSAGE_BIN, Buffer.from('line one\nline two'));
  assert.deepEqual(e2.BLOB, Buffer.from([0, 1, 0xff, 0x0a, 0x0a, 0x3d]));
  assert.deepEqual(e2.EMPTY, Buffer.alloc(0));
  assert.deepEqual(entries[2]!.fields.TAG, ['a', 'b', 'c=d']);
  for (const e of entries) assert.deepEqual([e.refused, e.truncated], [null, false]);
});

test('any split of the stream into chunks gives the same entries (byte by byte too)', () => {
  const whole = parseAll(sample);
  for (const size of [1, 2, 3, 7, 8, 9, 64]) assert.deepEqual(parseAll(sample, size), whole, `chunks of ${size}`);
});

test('the last entry may end without its empty line; a stream cut inside a field is an error', () => {
  assert.equal(parseAll(Buffer.from('MESSAGE=a\n\nMESSAGE=b\n')).length, 2);
  assert.deepEqual(parseAll(Buffer.from('\n\n\nMESSAGE=a\n\n\n')).map((e) => e.fields), [{ MESSAGE: 'a' }]);
  for (const cut of [Buffer.from('MESSAGE=a\n\nMESS'), binaryField('B', 'abcdef').subarray(0, 10), binaryField('B', 'abcdef').subarray(0, 4)]) {
    assert.throws(() => parseAll(cut), (err: Error) => err instanceof ExportFormatError && /ended inside a field/.test(err.message));
  }
});

test('an oversized field refuses its entry (reject) or is cut and marked (truncate); later entries are fine', () => {
  const big = Buffer.concat([entry(textField('MESSAGE', 'x'.repeat(3000)), textField('A', '1')), entry(binaryField('MESSAGE', 'y'.repeat(5000))), entry(textField('MESSAGE', 'after'))]);
  for (const size of [big.length, 100, 1]) {
    const rejected = parseAll(big, size);
    assert.deepEqual(rejected.map((e) => e.refused), ['line_too_long', 'line_too_long', null]);
    assert.deepEqual(rejected[2]!.fields, { MESSAGE: 'after' });
    const truncated = parseAll(big, size, { ...LIMITS, oversize: 'truncate' });
    assert.deepEqual(truncated.map((e) => [e.refused, e.truncated]), [[null, true], [null, true], [null, false]]);
    assert.equal(truncated[0]!.fields.MESSAGE, 'x'.repeat(1024));
    assert.equal(truncated[0]!.fields.A, '1');
    assert.deepEqual(truncated[1]!.fields.MESSAGE, Buffer.from('y'.repeat(1024)));
  }
});

test('entry size and field count limits refuse the entry, not the stream', () => {
  const many = entry(...Array.from({ length: 20 }, (_, i) => textField(`F${i}`, 'v')));
  const large = entry(...Array.from({ length: 6 }, (_, i) => textField(`F${i}`, 'v'.repeat(1000))));
  const entries = parseAll(Buffer.concat([many, large, entry(textField('MESSAGE', 'ok'))]));
  assert.deepEqual(entries.map((e) => e.refused), ['too_many_fields', 'line_too_long', null]);
});

test('not export format: bad names, absurd declared sizes, a binary field without its newline', () => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.from('message=lower case\n\n'), /"message" is not a journal field name/],
    [Buffer.from('9START=x\n\n'), /is not a journal field name/],
    [Buffer.from('A'.repeat(100)), /expected a field name/],
    [Buffer.concat([Buffer.from('BIG\n'), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])]), /declares 9223372036854775807 bytes/],
    [Buffer.concat([binaryField('B', 'abc').subarray(0, 13), Buffer.from('X\n')]), /not followed by a newline/],
  ];
  for (const [data, message] of cases) {
    assert.throws(() => parseAll(data), (err: Error) => err instanceof ExportFormatError && message.test(err.message), String(message));
  }
});

test('random bytes: an ExportFormatError or entries, never anything else, and quickly', () => {
  const started = performance.now();
  for (let i = 0; i < 500; i++) {
    const data = i % 2 === 0 ? randomBytes(1 + (i % 300) * 13) : Buffer.concat([sample.subarray(0, i % sample.length), randomBytes(i)]);
    try {
      parseAll(data, 1 + (i % 17));
    } catch (err) {
      assert.ok(err instanceof ExportFormatError, String(err));
    }
  }
  assert.ok(performance.now() - started < 5000);
});
