import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, type Encoding } from './lines.ts';
import { MultilineJoiner } from './multiline.ts';

function split(data: Buffer, chunk: number, encoding: Encoding = 'utf8', maxBytes = 1 << 20, oversize: 'truncate' | 'drop' = 'truncate') {
  const events: string[] = [];
  const s = new LineSplitter({ encoding, maxBytes, oversize, onOversize: (a) => events.push(a) });
  const lines = [];
  for (let at = 0; at < data.length; at += chunk) lines.push(...s.push(data.subarray(at, at + chunk), at));
  return { lines, events, pending: s.pendingBytes, splitter: s };
}

test('lines end at exact byte offsets, in any chunking; \\r\\n and a UTF-8 BOM are handled; the unfinished last line waits', () => {
  const data = Buffer.from('\ufefffirst\r\nsecond ünïcödé\n\nlast no newline', 'utf8');
  for (const chunk of [1, 2, 3, 7, 1000]) {
    const { lines, pending, splitter } = split(data, chunk);
    assert.deepEqual(lines.map((l) => l.text), ['first', 'second ünïcödé', ''], `chunks of ${chunk}`);
    const second = 10 + Buffer.byteLength('second ünïcödé\n');
    assert.deepEqual(lines.map((l) => l.end), [10, second, second + 1]);
    assert.equal(pending, Buffer.byteLength('last no newline'));
    assert.deepEqual(splitter.flush(data.length), { text: 'last no newline', end: data.length, truncated: false });
  }
  assert.deepEqual(split(Buffer.from('a\nb\n'), 2).lines.map((l) => l.text), ['a', 'b'], 'a short first read without a BOM is not held back');
});

test('UTF-16LE: newlines are code units at even offsets (0x0A inside a character is not one); latin1', () => {
  // U+0A0A (GURMUKHI) encodes as 0A 0A: not a newline.
  const data = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a\u0a0ab\r\nzweite Zeile ß\n', 'utf16le')]);
  for (const chunk of [1, 3, 5, 64]) {
    const { lines } = split(data, chunk, 'utf16le');
    assert.deepEqual(lines.map((l) => l.text), ['a\u0a0ab', 'zweite Zeile ß'], `chunks of ${chunk}`);
    assert.equal(lines.at(-1)!.end, data.length);
  }
  const latin = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]);
  assert.deepEqual(split(latin, 2, 'latin1').lines.map((l) => l.text), ['café']);
});

test('a line over max bytes is cut (truncate) or skipped (drop) without holding it whole; the next line is intact', () => {
  const data = Buffer.from(`${'x'.repeat(5000)}\nshort\n`);
  const cut = split(data, 100, 'utf8', 1000, 'truncate');
  assert.deepEqual(cut.lines.map((l) => [l.text.length, l.truncated, l.end]), [[1000, true, 5001], [5, false, 5007]]);
  assert.deepEqual(cut.events, ['truncate']);
  const dropped = split(data, 100, 'utf8', 1000, 'drop');
  assert.deepEqual(dropped.lines.map((l) => l.text), ['short']);
  assert.equal(dropped.lines[0]!.end, 5007);
  assert.deepEqual(dropped.events, ['drop']);
  const splitter = new LineSplitter({ encoding: 'utf8', maxBytes: 1000, oversize: 'drop' });
  splitter.push(Buffer.from('y'.repeat(100_000)), 0);
  assert.ok(splitter.pendingBytes <= 1000, 'memory stays at max bytes');
});

test('multiline: start lines begin records, continuation lines join, max lines, timeout and size cut', () => {
  const j = new MultilineJoiner({ start: /^\d{4}-/, maxLines: 3, maxBytes: 60, timeoutMs: 1000 });
  const l = (text: string, end: number) => ({ text, end, truncated: false });
  assert.deepEqual(j.push(l('2024-01-01 boom', 10), 0), []);
  assert.deepEqual(j.push(l('  at a()', 20), 0), []);
  assert.deepEqual(j.push(l('  at b()', 30), 0), []);
  assert.deepEqual(j.push(l('  at c()', 40), 0), [{ text: '2024-01-01 boom\n  at a()\n  at b()', end: 30, truncated: false }], 'max_lines ends a record');
  assert.deepEqual(j.push(l('2024-01-02 next', 50), 0), [{ text: '  at c()', end: 40, truncated: false }]);
  assert.equal(j.flushIdle(500), null);
  assert.deepEqual(j.flushIdle(1000), { text: '2024-01-02 next', end: 50, truncated: false }, 'timeout');
  j.push(l('2024-01-03 ' + 'z'.repeat(40), 60), 0);
  j.push(l('  more more more more more', 70), 0);
  assert.deepEqual(j.flush(), { text: '2024-01-03 ' + 'z'.repeat(40), end: 70, truncated: true }, 'over max bytes: cut, its lines consumed');
});
