/**
 * Random, truncated, mutated and oversized input through the forward parser
 * (FrameScanner + decodeEventMessage): every outcome is a decoded message or a
 * FrameError, never another exception, and every call returns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { FrameError, FrameScanner, packr } from './msgpack.ts';
import { decodeEventMessage } from './protocol.ts';

const limits = { maxMessageBytes: 64 * 1024, maxRecords: 500 };

/** A small deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function validFrames(): Buffer[] {
  const entryStream = Buffer.concat(Array.from({ length: 5 }, (_, i) => packr.pack([1_700_000_000 + i, { log: `line ${i}`, n: i }])));
  return [
    packr.pack(['tag', 1_700_000_000, { message: 'm', nested: { a: [1, 2, { b: 'c' }] } }, { chunk: 'x' }]),
    packr.pack(['tag', [[1, { a: 1 }], [2, { b: 2 }]], { size: 2 }]),
    Buffer.concat([Buffer.from([0x93]), packr.pack('tag'), packr.pack(entryStream), packr.pack({ chunk: 'y' })]),
    Buffer.concat([Buffer.from([0x93]), packr.pack('tag'), packr.pack(gzipSync(entryStream)), packr.pack({ compressed: 'gzip' })]),
  ];
}

/** Scans and decodes what the stream holds; returns how many messages decoded. Throws only FrameError. */
async function feed(bytes: Buffer, random: () => number): Promise<number> {
  const scanner = new FrameScanner({ maxMessageBytes: limits.maxMessageBytes, maxDepth: 64 });
  let decoded = 0;
  let partial: Buffer[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    const size = 1 + Math.floor(random() * 64);
    const chunk = bytes.subarray(pos, pos + size);
    pos += size;
    let start = 0;
    for (const end of scanner.scan(chunk)) {
      partial.push(chunk.subarray(start, end));
      const frame = Buffer.concat(partial);
      partial = [];
      start = end;
      if (frame[0] === 0xc0) continue;
      await decodeEventMessage(frame, limits);
      decoded++;
    }
    partial.push(chunk.subarray(start));
  }
  return decoded;
}

async function expectCleanOutcome(bytes: Buffer, random: () => number, what: string): Promise<void> {
  try {
    await feed(bytes, random);
  } catch (err) {
    assert.ok(err instanceof FrameError, `${what}: unexpected ${(err as Error).stack}`);
    assert.ok((err as FrameError).message.length > 0);
  }
}

test('valid frames in random chunkings all decode', async () => {
  const random = rng(1);
  const all = Buffer.concat(validFrames());
  for (let i = 0; i < 20; i++) assert.equal(await feed(all, random), 4);
});

test('random bytes: a FrameError or nothing, never a crash', async () => {
  const random = rng(2);
  for (let i = 0; i < 2000; i++) {
    const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256)));
    await expectCleanOutcome(bytes, random, `random #${i}`);
  }
});

test('mutated and truncated valid frames: a FrameError or a decoded message', async () => {
  const random = rng(3);
  const frames = validFrames();
  for (let i = 0; i < 3000; i++) {
    const frame = Buffer.from(frames[i % frames.length]!);
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) frame[Math.floor(random() * frame.length)] = Math.floor(random() * 256);
    const cut = random() < 0.3 ? frame.subarray(0, Math.floor(random() * frame.length)) : frame;
    await expectCleanOutcome(cut, random, `mutation #${i}`);
  }
});

test('headers declaring huge sizes fail at once without allocating them', async () => {
  const random = rng(4);
  const heads = [
    [0xc6, 0xff, 0xff, 0xff, 0xff], // bin32 4 GiB
    [0xdb, 0xff, 0xff, 0xff, 0xfe], // str32
    [0xdd, 0xff, 0xff, 0xff, 0xff], // array32
    [0xdf, 0x7f, 0xff, 0xff, 0xff], // map32
    [0xc9, 0xff, 0xff, 0xff, 0xff, 0x00], // ext32
  ];
  const before = process.memoryUsage().rss;
  for (const head of heads) {
    const bytes = Buffer.from([0x93, 0xa3, 0x61, 0x62, 0x63, ...head]);
    await assert.rejects(feed(bytes, random), (err: FrameError) => err.reason === 'message_too_large');
  }
  assert.ok(process.memoryUsage().rss - before < 256 * 1024 * 1024);
});
