import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventTime, FrameError, FrameScanner, decodeEventTime, packr, readArrayHeader, readRaw, unpackr } from './msgpack.ts';

const limits = { maxMessageBytes: 1024, maxDepth: 8 };

function scanAll(chunks: Buffer[], scanner = new FrameScanner(limits)): number[] {
  const ends: number[] = [];
  let base = 0;
  for (const c of chunks) {
    for (const e of scanner.scan(c)) ends.push(base + e);
    base += c.length;
  }
  return ends;
}

test('finds message ends in one buffer, and byte by byte', () => {
  const a = packr.pack(['tag', 1441588984, { message: 'foo', n: [1, 2, { x: null }] }]);
  const b = packr.pack(['tag', [[1, { a: 'b'.repeat(300) }]], { chunk: 'abc' }]);
  const nil = Buffer.from([0xc0]);
  const all = Buffer.concat([a, nil, b]);
  const expected = [a.length, a.length + 1, all.length];
  assert.deepEqual(scanAll([all]), expected);
  const bytes = [...all].map((x) => Buffer.from([x]));
  const scanner = new FrameScanner(limits);
  assert.deepEqual(scanAll(bytes, scanner), expected);
  assert.equal(scanner.inMessage, false);
  assert.deepEqual(scanAll([all.subarray(0, 5)]), []);
});

test('every msgpack type is sized right (big headers, ext, 64-bit numbers, floats)', () => {
  const values = [
    'x'.repeat(40), // str8
    'y'.repeat(300), // str16
    Buffer.alloc(70_000 % 1000), // bin
    2 ** 40, // uint64
    -(2 ** 40), // int64
    1.5, // float64
    -3,
    true,
    false,
    null,
    Array.from({ length: 20 }, (_, i) => i), // array16
    Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])), // map16
  ];
  const event = Buffer.concat([Buffer.from([0xd7, 0x00]), Buffer.alloc(8)]);
  const ext8 = Buffer.concat([Buffer.from([0xc7, 0x08, 0x00]), Buffer.alloc(8)]);
  const msg = Buffer.concat([Buffer.from([0x90 + values.length + 2]), ...values.map((v) => packr.pack(v)), event, ext8]);
  const scanner = new FrameScanner({ maxMessageBytes: 1 << 20, maxDepth: 8 });
  assert.deepEqual(scanAll([msg], scanner), [msg.length]);
  for (let cut = 1; cut < msg.length; cut += 7) {
    assert.deepEqual(scanAll([msg.subarray(0, cut), msg.subarray(cut)]), [msg.length], `cut at ${cut}`);
  }
});

test('refuses a stream that is not msgpack arrays, naming what it looks like', () => {
  assert.throws(() => new FrameScanner(limits).scan(Buffer.from('POST / HTTP/1.1\r\n')), /not a forward protocol message.*text "P"/);
  assert.throws(() => new FrameScanner(limits).scan(packr.pack({ a: 1 })), /expected a MessagePack array/);
  assert.throws(() => new FrameScanner(limits).scan(Buffer.from([0x92, 0xc1])), /0xc1/);
});

test('a header declaring more than the limit fails at once, without waiting for the bytes', () => {
  const bin32 = Buffer.from([0x91, 0xc6, 0xff, 0xff, 0xff, 0xff]);
  assert.throws(() => new FrameScanner(limits).scan(bin32), (err: FrameError) => err.reason === 'message_too_large');
  const array32 = Buffer.from([0xdd, 0x7f, 0xff, 0xff, 0xff]);
  assert.throws(() => new FrameScanner(limits).scan(array32), /larger than max_message_bytes/);
  const map32 = Buffer.from([0x91, 0xdf, 0x10, 0x00, 0x00, 0x00]);
  assert.throws(() => new FrameScanner(limits).scan(map32), /larger than max_message_bytes/);
});

test('a message that grows past the limit in small pieces fails', () => {
  const scanner = new FrameScanner({ maxMessageBytes: 100, maxDepth: 8 });
  scanner.scan(Buffer.from([0xdc, 0x00, 0x50])); // array of 80
  assert.throws(() => {
    for (let i = 0; i < 80; i++) scanner.scan(packr.pack('abc'));
  }, /larger than max_message_bytes/);
});

test('nesting is bounded', () => {
  assert.throws(() => new FrameScanner(limits).scan(Buffer.alloc(50, 0x91)), /deeper than 8/);
});

test('EventTime: fixext8 and ext8 decode to ns; a wrong length is an error', () => {
  const t = Buffer.from([0xd7, 0x00, 0x55, 0xec, 0xe6, 0xf8, 0x07, 0x5b, 0xcd, 0x15]);
  assert.equal((unpackr.unpack(t) as EventTime).ns, 1441588984n * 1_000_000_000n + 123456789n);
  const t8 = Buffer.from([0xc7, 0x08, 0x00, 0x55, 0xec, 0xe6, 0xf8, 0x00, 0x00, 0x00, 0x01]);
  assert.equal((unpackr.unpack(t8) as EventTime).ns, 1441588984_000_000_001n);
  assert.throws(() => decodeEventTime(new Uint8Array(4)), /8 bytes/);
  assert.throws(() => unpackr.unpack(Buffer.from([0xd4, 0x00, 0x00])), /8 bytes/);
});

test("msgpackr's own extension types are refused; __proto__ keys are harmless", () => {
  assert.throws(() => unpackr.unpack(Buffer.from([0xd4, 0x73, 0x90])), /unsupported MessagePack extension type 115/);
  const obj = unpackr.unpack(Buffer.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0x01])) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(obj), Object.prototype);
});

test('readRaw returns str and bin bytes undecoded; readArrayHeader reads counts', () => {
  const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
  const str = Buffer.concat([Buffer.from([0xa4]), bytes]);
  assert.deepEqual(readRaw(str, 0)?.bytes, bytes);
  const bin = packr.pack(bytes);
  assert.deepEqual(readRaw(bin, 0)?.bytes, bytes);
  assert.equal(readRaw(Buffer.from([0x01]), 0), null);
  assert.equal(readRaw(Buffer.from([0xa4, 0x01]), 0), null, 'truncated');
  assert.deepEqual(readArrayHeader(Buffer.from([0xdc, 0x01, 0x00]), 0), { count: 256, next: 3 });
  assert.equal(readArrayHeader(Buffer.from([0x80]), 0), null);
});
