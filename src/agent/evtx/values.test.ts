import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeValue, EvtxFormatError, filetimeToNs, formatFiletime } from './values.ts';
import { T, v, type TypedValue } from '../../../test/helpers/evtx-builder.ts';

function decode(value: TypedValue): string | string[] {
  return decodeValue(value.bytes, 0, value.bytes.length, value.type);
}

test('FILETIME: 100 ns ticks since 1601 → RFC 3339 with 7 digits and ns since the epoch', () => {
  assert.equal(formatFiletime(0n), '1601-01-01T00:00:00.0000000Z');
  assert.equal(formatFiletime(116_444_736_000_000_001n), '1970-01-01T00:00:00.0000001Z');
  assert.equal(formatFiletime(131124751716816408n), '2016-07-08T18:12:51.6816408Z');
  assert.equal(filetimeToNs(116_444_736_000_000_001n), 100n);
  assert.equal(formatFiletime(0xffff_ffff_ffff_ffffn), '0xffffffffffffffff'); // outside what a date can show
});

test('every scalar value type renders as Windows prints it', () => {
  assert.equal(decode(v.string('héllo wörld\0')), 'héllo wörld');
  assert.equal(decode(v.ansi('plain\0')), 'plain');
  assert.equal(decode(v.i8(-5)), '-5');
  assert.equal(decode(v.u8(250)), '250');
  assert.equal(decode(v.i16(-300)), '-300');
  assert.equal(decode(v.u16(65000)), '65000');
  assert.equal(decode(v.i32(-70000)), '-70000');
  assert.equal(decode(v.u32(4_000_000_000)), '4000000000');
  assert.equal(decode(v.i64(-9_000_000_000_000_000_000n)), '-9000000000000000000');
  assert.equal(decode(v.u64(18_000_000_000_000_000_000n)), '18000000000000000000');
  assert.equal(decode(v.real32(1.5)), '1.5');
  assert.equal(decode(v.real64(-2.25)), '-2.25');
  assert.equal(decode(v.real64(Number.POSITIVE_INFINITY)), '1.#INF');
  assert.equal(decode(v.bool(true)), 'true');
  assert.equal(decode(v.bool(false)), 'false');
  assert.equal(decode(v.binary('00ff10ab')), '00FF10AB');
  assert.equal(decode(v.guid('{54849625-5478-4994-a5ba-3e3b0328c30d}')), '{54849625-5478-4994-A5BA-3E3B0328C30D}');
  assert.equal(decode(v.sizeT64(0x7ff6_1234n)), '0x7ff61234');
  assert.equal(decode({ type: T.sizeT, bytes: Buffer.from([0x10, 0, 0, 0]) }), '0x10');
  assert.equal(decode(v.filetime(131124751716816408n)), '2016-07-08T18:12:51.6816408Z');
  assert.equal(decode(v.systemtime([2024, 2, 4, 29, 23, 59, 58, 7])), '2024-02-29T23:59:58.007Z');
  assert.equal(decode(v.sid('S-1-5-21-1769714682-2803786108-491265710-500')), 'S-1-5-21-1769714682-2803786108-491265710-500');
  assert.equal(decode(v.hex32(0xc000006d)), '0xc000006d');
  assert.equal(decode(v.hex64(0x8020_0000_0000_0000n)), '0x8020000000000000');
  assert.equal(decode({ type: 0x20, bytes: Buffer.from([1, 2]) }), '0102'); // EvtHandle: shown as bytes
  assert.equal(decode({ type: 0x7e, bytes: Buffer.from([0xab]) }), 'AB'); // unknown type: bytes, not an error
});

test('arrays decode to one text per item', () => {
  assert.deepEqual(decode(v.strings(['a', 'bc', ''])), ['a', 'bc', '']);
  assert.deepEqual(decode(v.u32s([1, 2, 3])), ['1', '2', '3']);
  assert.deepEqual(decode({ type: T.ansi | T.array, bytes: Buffer.from('x\0yz\0', 'latin1') }), ['x', 'yz']);
  const sids = Buffer.concat([v.sid('S-1-5-18').bytes, v.sid('S-1-5-32-544').bytes]);
  assert.deepEqual(decode({ type: T.sid | T.array, bytes: sids }), ['S-1-5-18', 'S-1-5-32-544']);
  const guids = Buffer.concat([v.guid('00000000-0000-0000-0000-000000000001').bytes, v.guid('00000000-0000-0000-0000-000000000002').bytes]);
  assert.deepEqual(decode({ type: T.guid | T.array, bytes: guids }), ['{00000000-0000-0000-0000-000000000001}', '{00000000-0000-0000-0000-000000000002}']);
  assert.deepEqual(decode({ type: T.hex64 | T.array, bytes: Buffer.concat([v.hex64(1n).bytes, v.hex64(255n).bytes]) }), ['0x1', '0xff']);
});

test('values too short for their type or running past the buffer are format errors', () => {
  assert.throws(() => decodeValue(Buffer.from([1, 2]), 0, 2, T.uint32), EvtxFormatError);
  assert.throws(() => decodeValue(Buffer.from([1, 2]), 0, 8, T.binary), EvtxFormatError);
  assert.throws(() => decodeValue(Buffer.from([1, 5, 0, 0]), 0, 4, T.sid), EvtxFormatError);
});
