/**
 * Robustness: random bit flips, byte smears, truncations and random bytes fed
 * to the reader. Whatever the input, records() must end (no exception except
 * the "not an EVTX file" error, no hang) and never return more records than
 * the undamaged file holds plus what damage can fake. Seeded, so a failure
 * reproduces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bufferSource, EvtxReader, FILE_HEADER_SIZE, CHUNK_SIZE } from './reader.ts';
import { EvtxFormatError } from './values.ts';
import { sampleFile } from '../../../test/helpers/evtx.ts';

/** Mulberry32: small, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the reader to the end; returns records read, or -1 when the input was refused as not EVTX. */
function run(data: Buffer): number {
  const reader = new EvtxReader(bufferSource(data));
  let n = 0;
  try {
    for (const r of reader.records()) {
      assert.equal(typeof r.xml, 'string');
      n++;
    }
  } catch (err) {
    if (err instanceof EvtxFormatError && /not an EVTX file/.test(err.message)) return -1;
    throw err;
  }
  return n;
}

// Three chunks of the security sample: enough structure (templates, names, many records) to damage.
const base = readFileSync(sampleFile('security.evtx')).subarray(0, FILE_HEADER_SIZE + 3 * CHUNK_SIZE);
const baseCount = run(base);

test('the fuzz corpus parses cleanly before damage', () => {
  assert.equal(baseCount, 91 + 86 + 83);
});

test('bit flips anywhere: never a crash or hang', () => {
  const random = rng(1);
  for (let round = 0; round < 60; round++) {
    const data = Buffer.from(base);
    const flips = 1 + Math.floor(random() * 64);
    for (let i = 0; i < flips; i++) {
      const at = Math.floor(random() * data.length);
      data[at] = data[at]! ^ (1 << Math.floor(random() * 8));
    }
    const n = run(data);
    assert.ok(n <= baseCount * 2, `round ${round}: ${n} records from ${baseCount}`);
  }
});

test('flips concentrated in chunk headers and record structure', () => {
  const random = rng(2);
  for (let round = 0; round < 60; round++) {
    const data = Buffer.from(base);
    const chunk = FILE_HEADER_SIZE + Math.floor(random() * 3) * CHUNK_SIZE;
    for (let i = 0; i < 8; i++) {
      const at = chunk + Math.floor(random() * 2048); // header, tables and the first records with their templates
      data[at] = Math.floor(random() * 256);
    }
    run(data);
  }
});

test('smeared ranges (zeros, 0xff, random bytes) and truncation at every kind of boundary', () => {
  const random = rng(3);
  for (let round = 0; round < 40; round++) {
    const data = Buffer.from(base);
    const start = Math.floor(random() * data.length);
    const len = Math.floor(random() * 4096);
    const fill = round % 3;
    for (let i = start; i < Math.min(data.length, start + len); i++) data[i] = fill === 0 ? 0 : fill === 1 ? 0xff : Math.floor(random() * 256);
    run(data);
  }
  for (const cut of [0, 7, 127, 4095, 4096, 4100, 4096 + 511, 4096 + 512, 4096 + 600, 4096 + 65535, 4096 + 65536 + 3000]) {
    const n = run(base.subarray(0, cut));
    assert.ok(n <= baseCount);
  }
});

test('random bytes behind valid magics', () => {
  const random = rng(4);
  for (let round = 0; round < 30; round++) {
    const data = Buffer.alloc(FILE_HEADER_SIZE + 2 * CHUNK_SIZE);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 256);
    data.write('ElfFile\0', 0, 'latin1');
    data.write('ElfChnk\0', FILE_HEADER_SIZE, 'latin1');
    // Sprinkle record headers so the BinXML reader, not just the record walker, meets garbage.
    for (let p = FILE_HEADER_SIZE + 512; p < FILE_HEADER_SIZE + CHUNK_SIZE - 64; p += 8 * (1 + Math.floor(random() * 64))) {
      data.writeUInt32LE(0x2a2a, p);
      data.writeUInt32LE(64 + 8 * Math.floor(random() * 32), p + 4);
      data[p + 24] = 0x0f;
    }
    run(data);
  }
});
