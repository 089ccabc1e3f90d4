import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { decodeEventMessage, eventTimeNs } from './protocol.ts';
import { EventTime, FrameError, packr } from './msgpack.ts';

const limits = { maxMessageBytes: 1 << 20, maxRecords: 1000 };
const S = 1_000_000_000n;

/** EventTime as the spec draws it: fixext8, type 0, seconds and nanoseconds big-endian. */
function eventTime(sec: number, nsec: number): Buffer {
  const b = Buffer.alloc(10);
  b[0] = 0xd7;
  b[1] = 0x00;
  b.writeUInt32BE(sec, 2);
  b.writeUInt32BE(nsec, 6);
  return b;
}
const entry = (time: Buffer, record: object) => Buffer.concat([Buffer.from([0x92]), time, packr.pack(record)]);

test('Message mode: [tag, time, record] and with option', async () => {
  const m = await decodeEventMessage(packr.pack(['tag.name', 1441588984, { message: 'bar' }]), limits);
  assert.equal(m.tag, 'tag.name');
  assert.deepEqual(m.events, [{ time: 1441588984n * S, record: { message: 'bar' }, metadata: null, entry: 1 }]);
  assert.equal(m.chunk, undefined);
  const withOption = Buffer.concat([Buffer.from([0x94]), packr.pack('t'), eventTime(1441588984, 5), packr.pack({ a: 1 }), packr.pack({ chunk: 'p8n9gmxTQVC8/nh2wlKKeQ==' })]);
  const m2 = await decodeEventMessage(withOption, limits);
  assert.equal(m2.events[0]!.time, 1441588984n * S + 5n);
  assert.equal(m2.chunk, 'p8n9gmxTQVC8/nh2wlKKeQ==');
});

test('Forward mode: [tag, [[time, record], ...], option]', async () => {
  const frame = packr.pack(['tag.name', [[1441588984, { message: 'foo' }], [1441588985, { message: 'bar' }], [1441588986, { message: 'baz' }]], { size: 3, chunk: 'c1' }]);
  const m = await decodeEventMessage(frame, limits);
  assert.deepEqual(m.events.map((e) => e.record.message), ['foo', 'bar', 'baz']);
  assert.equal(m.events[2]!.time, 1441588986n * S);
  assert.equal(m.chunk, 'c1');
});

test('PackedForward: entries in bin, and in str as Fluentd sends them (str32 of raw msgpack)', async () => {
  const stream = Buffer.concat([entry(eventTime(1441588984, 1), { message: 'packed-1' }), entry(eventTime(1441588984, 2), { message: 'packed-2' })]);
  const asBin = Buffer.concat([Buffer.from([0x93]), packr.pack('tag'), packr.pack(stream), packr.pack({ size: 2 })]);
  const m = await decodeEventMessage(asBin, limits);
  assert.deepEqual(m.events.map((e) => [e.time, e.record.message]), [[1441588984n * S + 1n, 'packed-1'], [1441588984n * S + 2n, 'packed-2']]);
  const str32 = Buffer.alloc(5);
  str32[0] = 0xdb;
  str32.writeUInt32BE(stream.length, 1);
  const asStr = Buffer.concat([Buffer.from([0x93]), packr.pack('tag'), str32, stream, packr.pack({ chunk: 'x' })]);
  const m2 = await decodeEventMessage(asStr, limits);
  assert.equal(m2.events.length, 2);
  assert.equal(m2.chunk, 'x');
  const noOption = Buffer.concat([Buffer.from([0x92]), packr.pack('tag'), packr.pack(stream)]);
  assert.equal((await decodeEventMessage(noOption, limits)).events.length, 2);
});

test('CompressedPackedForward: gzip, also concatenated gzip members', async () => {
  const a = entry(eventTime(1, 0), { message: 'gz-1' });
  const b = entry(eventTime(2, 0), { message: 'gz-2' });
  const gz = Buffer.concat([gzipSync(a), gzipSync(b)]);
  const frame = Buffer.concat([Buffer.from([0x93]), packr.pack('tag'), packr.pack(gz), packr.pack({ compressed: 'gzip', size: 2 })]);
  const m = await decodeEventMessage(frame, limits);
  assert.deepEqual(m.events.map((e) => e.record.message), ['gz-1', 'gz-2']);
  // fluent-logger sends compressed: "text" for plain PackedForward: other values mean uncompressed.
  const text = Buffer.concat([Buffer.from([0x93]), packr.pack('tag'), packr.pack(a), packr.pack({ compressed: 'text' })]);
  assert.equal((await decodeEventMessage(text, limits)).events.length, 1);
});

test("Fluent Bit's [[time, metadata], record] entries and its fluent_signal option", async () => {
  const stream = Buffer.concat([
    Buffer.from([0x92, 0x92]),
    eventTime(10, 0),
    packr.pack({}),
    packr.pack({ log: 'v2 event' }),
    Buffer.from([0x92, 0x92]),
    eventTime(11, 0),
    packr.pack({ otlp: { trace_id: 'ab' } }),
    packr.pack({ log: 'with metadata' }),
  ]);
  const frame = Buffer.concat([Buffer.from([0x93]), packr.pack('tag'), packr.pack(stream), packr.pack({ fluent_signal: 0, size: 2 })]);
  const m = await decodeEventMessage(frame, limits);
  assert.deepEqual(m.events.map((e) => [e.time, e.metadata]), [[10n * S, null], [11n * S, { otlp: { trace_id: 'ab' } }]]);
  assert.equal(m.signal, 0);
});

test('bad entries are skipped and counted; the rest of the message stands', async () => {
  const frame = packr.pack(['tag', [[1, { ok: 1 }], [-5, { bad: 'time' }], [2, 'not a map'], 'not an entry', [3, { ok: 2 }]]]);
  const m = await decodeEventMessage(frame, limits);
  assert.equal(m.events.length, 2);
  assert.equal(m.invalid, 3);
  assert.deepEqual(m.skipped.map((x) => x.entry), [2, 3, 4]);
  assert.match(m.skipped[0]!.reason, /time/);
  assert.deepEqual(m.events.map((e) => e.entry), [1, 5]);
});

test('a message of the wrong shape is a FrameError naming the problem', async () => {
  const cases: [Buffer, RegExp][] = [
    [packr.pack([1, 2, 3]), /tag\) must be a string/],
    [packr.pack(['tag']), /array of 1/],
    [packr.pack(['tag', 1, { a: 1 }, 'option']), /option element .* must be a map/],
    [packr.pack(['tag', 1441588984]), /Message mode/],
    [Buffer.concat([Buffer.from([0x93]), packr.pack('tag'), packr.pack(Buffer.from([0x92, 0x01])), packr.pack({})]), /not a valid MessagePack stream/],
    [Buffer.concat([Buffer.from([0x93]), packr.pack('tag'), packr.pack(Buffer.from('not gzip')), packr.pack({ compressed: 'gzip' })]), /not valid gzip/],
  ];
  for (const [frame, re] of cases) await assert.rejects(decodeEventMessage(frame, limits), (err: Error) => err instanceof FrameError && re.test(err.message), re.source);
});

test('limits: events per message and the decompressed size', async () => {
  const many = packr.pack(['tag', Array.from({ length: 11 }, (_, i) => [i, { i }])]);
  await assert.rejects(decodeEventMessage(many, { ...limits, maxRecords: 10 }), /max_records_per_message \(10\)/);
  const stream = Buffer.concat(Array.from({ length: 11 }, (_, i) => entry(eventTime(i, 0), { i })));
  const packed = Buffer.concat([Buffer.from([0x92]), packr.pack('tag'), packr.pack(stream)]);
  await assert.rejects(decodeEventMessage(packed, { ...limits, maxRecords: 10 }), (err: FrameError) => err.reason === 'too_many_records');
  const bomb = gzipSync(Buffer.alloc(5 << 20, 0x90));
  const frame = Buffer.concat([Buffer.from([0x93]), packr.pack('tag'), packr.pack(bomb), packr.pack({ compressed: 'gzip' })]);
  await assert.rejects(decodeEventMessage(frame, limits), (err: FrameError) => err.reason === 'message_too_large');
});

test('event times: EventTime, integer and fractional seconds, msgpack timestamps; nonsense is undefined', () => {
  assert.equal(eventTimeNs(new EventTime(5n)), 5n);
  assert.equal(eventTimeNs(1441588984), 1441588984n * S);
  assert.equal(eventTimeNs(1.5), 1_500_000_000n);
  assert.equal(eventTimeNs(new Date(1000)), 1_000_000_000n);
  for (const bad of [-1, NaN, 'x', null, 2n ** 70n]) assert.equal(eventTimeNs(bad), undefined);
});
