import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskBuffer, type DiskBufferOptions } from './buffer.ts';
import { readFrame, recordFrame, HEADER_BYTES } from './frame.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'cairn-buf-'));
const rec = (text: string) => Buffer.from(text);
const texts = (chunk: { records: { record: Buffer }[] } | null) => chunk?.records.map((r) => r.record.toString()) ?? [];

function open(d: string, opts: Partial<DiskBufferOptions> = {}): DiskBuffer {
  return DiskBuffer.open({ dir: d, maxBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024, policy: 'block', fsyncIntervalMs: 5, ...opts });
}

function segments(d: string): string[] {
  return readdirSync(d).filter((n) => n.endsWith('.seg')).sort();
}

test('frames: a record round-trips; a flipped bit, a short file or a bad length are invalid, a short buffer is partial', () => {
  const f = recordFrame(1234567890123456, Buffer.from('hello'));
  const parsed = readFrame(f, 0, f.length);
  assert.ok(typeof parsed === 'object' && parsed.type === 1);
  assert.equal(parsed.seq, 1234567890123456);
  assert.equal(parsed.record.toString(), 'hello');
  assert.equal(readFrame(f.subarray(0, 10), 0, f.length), 'partial');
  assert.equal(readFrame(f, 0, f.length - 1), 'invalid', 'the length runs past the end of the file');
  const flipped = Buffer.from(f);
  flipped[HEADER_BYTES + 3]! ^= 0x10;
  assert.equal(readFrame(flipped, 0, f.length), 'invalid');
  assert.equal(readFrame(Buffer.alloc(64), 0, 64), 'invalid', 'zeros (a hole after a crash) are no frame');
});

test('records come back in order with increasing seqs, only once each; acks free segments', async () => {
  const d = dir();
  const b = open(d, { segmentBytes: 64 * 1024 });
  for (let i = 0; i < 300; i++) await b.append([rec(`line ${i} `.padEnd(500, 'x'))], { 'file:a': { offset: i + 1 } });
  const got: string[] = [];
  const seqs: number[] = [];
  while (got.length < 300) {
    const chunk = (await b.read(64, 16 * 1024))!;
    got.push(...texts(chunk).map((t) => t.split(' ')[1]!));
    seqs.push(...chunk.records.map((r) => r.seq));
    b.ack(chunk.lo, chunk.hi);
  }
  assert.deepEqual(got, Array.from({ length: 300 }, (_, i) => String(i)));
  assert.ok(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1), 'seqs increase by one');
  assert.ok(seqs[0]! > Date.now() * 1000 - 60e9, 'a new buffer starts its seqs at the clock (µs)');
  assert.equal(b.stats().unackedRecords, 0);
  assert.ok(segments(d).length <= 2, `acknowledged segments are deleted (left: ${segments(d).join(', ')})`);
  await b.close();
});

test('after a restart: positions and seqs continue; only records after the saved ack point come back', async () => {
  const d = dir();
  const a = open(d);
  await a.append([rec('a1'), rec('a2')], { 'file:x': { offset: 10 } });
  await a.append([rec('a3')], { 'file:x': { offset: 15 }, 'journal:j': 'cursor-1' });
  const first = (await a.read(2, 1 << 20))!;
  assert.deepEqual(texts(first), ['a1', 'a2']);
  a.ack(first.lo, first.hi);
  await a.close();
  const b = open(d);
  assert.deepEqual(b.position('file:x'), { offset: 15 });
  assert.equal(b.position('journal:j'), 'cursor-1');
  const again = (await b.read(10, 1 << 20))!;
  assert.deepEqual(texts(again), ['a3'], 'a1, a2 were acknowledged before the restart');
  await b.append([rec('b1')], { 'file:x': null });
  assert.equal(b.position('file:x'), undefined, 'null forgets a position');
  const next = (await b.read(10, 1 << 20))!;
  assert.equal(next.lo, again.hi + 1, 'seqs continue after a restart');
  await b.close();
  assert.equal(open(d).position('file:x'), undefined);
});

test('a crash (no close) loses nothing written; the unsaved ack point means a resend of what followed the saved one', async () => {
  const d = dir();
  const a = open(d, { fsyncIntervalMs: 1000 });
  await a.append([rec('c1'), rec('c2'), rec('c3')], { k: 3 });
  // Written but not yet fsynced: not readable yet (the shipper only sends what is durable) ...
  const reading = a.read(10, 1 << 20);
  await a.sync();
  const chunk = (await reading)!;
  a.ack(chunk.lo, chunk.hi); // ... acknowledged, but the ack point is saved only a second later: crash now.
  const b = open(d);
  assert.equal(b.position('k'), 3);
  assert.deepEqual(texts(await b.read(10, 1 << 20)), ['c1', 'c2', 'c3'], 'resent (the server drops them by seq)');
  await b.close();
  await a.close();
});

test('a torn write at the end is detected, cut off and counted; what came before is kept', async () => {
  const d = dir();
  const a = open(d);
  await a.append([rec('t1')], { pos: 1 });
  await a.append([rec('t2')], { pos: 2 });
  await a.close();
  const last = join(d, segments(d).at(-1)!);
  const good = statSync(last).size;
  // A frame cut short (the process died inside the write), then garbage.
  const torn = recordFrame(99, Buffer.from('never complete'));
  appendFileSync(last, torn.subarray(0, torn.length - 5));
  const cuts: [number, number][] = [];
  const b = open(d, { onTorn: (_seg, offset, bytes) => cuts.push([offset, bytes]) });
  assert.deepEqual(cuts, [[good, torn.length - 5]]);
  assert.equal(statSync(last).size, good, 'the torn tail is cut off');
  assert.equal(b.position('pos'), 2);
  assert.deepEqual(texts(await b.read(10, 1 << 20)), ['t1', 't2']);
  await b.close();
});

test('damage inside a segment ends that segment (counted); later segments are still read', async () => {
  const d = dir();
  const a = open(d, { segmentBytes: 64 * 1024 });
  for (let i = 0; i < 40; i++) await a.append([rec(`d${i}`.padEnd(4000, '.'))]);
  await a.close();
  const names = segments(d);
  assert.ok(names.length >= 3);
  const victim = join(d, names[0]!);
  const bytes = readFileSync(victim);
  bytes[bytes.length - 100]! ^= 0xff;
  writeFileSync(victim, bytes);
  const cuts: number[] = [];
  const b = open(d, { segmentBytes: 64 * 1024, onTorn: (_s, _o, n) => cuts.push(n) });
  assert.equal(cuts.length, 1);
  const got: string[] = [];
  for (;;) {
    const chunk = await Promise.race([b.read(100, 1 << 20), new Promise<null>((r) => setTimeout(() => r(null), 200))]);
    if (!chunk) break;
    got.push(...texts(chunk).map((t) => t.replace(/\.+$/, '')));
  }
  assert.equal(got.length, 39, 'only the damaged record is lost');
  assert.equal(got.at(-1), 'd39');
  await b.close();
});

test('block: a full buffer makes appends wait until acknowledgements free space', async () => {
  const d = dir();
  const b = open(d, { maxBytes: 256 * 1024, segmentBytes: 64 * 1024 });
  const line = rec('x'.repeat(8000));
  let appended = 0;
  const writer = (async () => {
    for (let i = 0; i < 60; i++) {
      await b.append([line]);
      appended++;
    }
  })();
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(appended < 60, `appends wait (${appended} of 60 done)`);
  assert.ok(b.stats().bytes <= 256 * 1024 + 9000);
  let read = 0;
  while (read < 60) {
    const chunk = (await b.read(8, 1 << 20))!;
    read += chunk.records.length;
    b.ack(chunk.lo, chunk.hi);
  }
  await writer;
  assert.equal(appended, 60, 'nothing lost, nothing dropped');
  await b.close();
});

test('drop_oldest: a full buffer deletes its oldest segment and counts the unsent records', async () => {
  const d = dir();
  const drops: number[] = [];
  const b = open(d, { maxBytes: 256 * 1024, segmentBytes: 64 * 1024, policy: 'drop_oldest', onDrop: (n, reason) => drops.push(n) && assert.equal(reason, 'buffer_full') });
  for (let i = 0; i < 100; i++) await b.append([rec(`r${i} `.padEnd(8000, 'x'))]);
  const dropped = drops.reduce((a, n) => a + n, 0);
  assert.ok(dropped > 0 && b.stats().bytes <= 256 * 1024 + 9000);
  const got: string[] = [];
  for (;;) {
    const chunk = await Promise.race([b.read(100, 1 << 20), new Promise<null>((r) => setTimeout(() => r(null), 200))]);
    if (!chunk) break;
    got.push(...texts(chunk).map((t) => t.split(' ')[0]!));
    b.ack(chunk.lo, chunk.hi);
  }
  assert.equal(got.length + dropped, 100, 'every record is either delivered or counted as dropped');
  assert.equal(got.at(-1), 'r99', 'the newest are kept');
  await b.close();
});

test('fsync interval 0: an append resolves once fsynced and is readable at once', async () => {
  const b = open(dir(), { fsyncIntervalMs: 0 });
  await b.append([rec('now')]);
  const chunk = await Promise.race([b.read(10, 1 << 20), new Promise<null>((r) => setTimeout(() => r(null), 50))]);
  assert.deepEqual(texts(chunk), ['now']);
  await b.close();
});
