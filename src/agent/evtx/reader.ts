/**
 * EVTX file reader (MS-EVEN6 2.2: file header, 64 KiB chunks, event records).
 *
 * Design note: the file is read one chunk at a time (a chunk is
 * self-contained: its records refer to names and templates inside it), and
 * records are yielded as they are parsed, so memory stays at one chunk
 * whatever the file size. Damage is contained: a slot that is not a chunk is
 * reported and skipped; a chunk whose checksums do not match, or that is cut
 * short, is reported and then read record by record with structural checks
 * (magic, size and its trailing copy, record id range), because such chunks
 * usually still hold readable records; after a damaged record the reader
 * scans forward to the next plausible record header. Every problem becomes an
 * EvtxIssue (chunk index, file offset, reason); nothing throws out of
 * records() except I/O errors, and every loop advances.
 *
 * Slots past the header's chunk count are read too when they hold a chunk:
 * Windows updates that count lazily (a "dirty" file says 1 chunk and holds 9).
 * Past the count, a slot without chunk magic is unused space, not damage.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import type { WindowsEvent } from '../../record/normalize/windows.ts';
import { childElement, eventFromTree, isElement, renderXml, textOf } from '../windows/event.ts';
import { ChunkStrings, parseRecordXml } from './binxml.ts';
import { EvtxFormatError, filetimeToNs } from './values.ts';

export const FILE_HEADER_SIZE = 4096;
export const CHUNK_SIZE = 65536;
const CHUNK_HEADER_SIZE = 512;
const RECORD_HEADER_SIZE = 24;
const RECORD_MAGIC = 0x00002a2a;
const FLAG_NO_CRC32 = 0x4;
const FILE_MAGIC = Buffer.from('ElfFile\0', 'latin1');
const CHUNK_MAGIC = Buffer.from('ElfChnk\0', 'latin1');

export interface EvtxFileHeader {
  firstChunk: bigint;
  lastChunk: bigint;
  nextRecordId: bigint;
  majorVersion: number;
  minorVersion: number;
  chunkCount: number;
  flags: number;
}

export interface EvtxRecord {
  /** Chunk slot index (0-based) and file offset of the record. */
  chunk: number;
  offset: number;
  /** `EventRecordID`. */
  recordId: bigint;
  /** When the record was written, ns since the epoch. */
  writtenNs: bigint;
  xml: string;
  event: WindowsEvent;
}

export interface EvtxIssue {
  /** Chunk slot index, or null for the file header. */
  chunk: number | null;
  /** File offset of the damaged structure. */
  offset: number;
  recordId?: bigint;
  /** error: data was lost (a chunk or record skipped); warning: read anyway. */
  level: 'error' | 'warning';
  reason: string;
}

export interface EvtxStats {
  /** 64 KiB slots after the file header. */
  slots: number;
  /** Chunks with valid magic that were read. */
  chunks: number;
  /** Slots skipped as damaged. */
  badChunks: number;
  /** Records parsed and returned. */
  records: number;
  /** Sum over read chunks of (last record number - first record number + 1). */
  expectedRecords: number;
  /** Records whose header was sound but whose content could not be parsed. */
  badRecords: number;
  bytes: number;
}

export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes at `position` (fewer at the end of the source). */
  read(position: number, length: number): Buffer;
  close(): void;
}

function fileSource(path: string): ByteSource {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  return {
    size,
    read(position, length) {
      const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - position)));
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, position + got);
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    },
    close: () => closeSync(fd),
  };
}

export function bufferSource(data: Uint8Array): ByteSource {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return {
    size: buf.length,
    read: (position, length) => buf.subarray(position, Math.min(buf.length, position + length)),
    close() {},
  };
}

const hex = (n: number) => `0x${n.toString(16)}`;

function isAllZero(buf: Buffer, start = 0, end = buf.length): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

export class EvtxReader {
  readonly issues: EvtxIssue[] = [];
  readonly stats: EvtxStats = { slots: 0, chunks: 0, badChunks: 0, records: 0, expectedRecords: 0, badRecords: 0, bytes: 0 };
  header: EvtxFileHeader | undefined;
  private readonly source: ByteSource;
  private readonly onIssue: ((issue: EvtxIssue) => void) | undefined;

  constructor(source: ByteSource, options: { onIssue?: (issue: EvtxIssue) => void } = {}) {
    this.source = source;
    this.onIssue = options.onIssue;
  }

  static open(path: string, options: { onIssue?: (issue: EvtxIssue) => void } = {}): EvtxReader {
    return new EvtxReader(fileSource(path), options);
  }

  close(): void {
    this.source.close();
  }

  private report(issue: EvtxIssue): void {
    this.issues.push(issue);
    this.onIssue?.(issue);
  }

  /**
   * Reads the file header. Throws EvtxFormatError only when the file cannot be
   * an EVTX file at all (no file magic and no chunk where the first should be).
   */
  private readHeader(): EvtxFileHeader {
    const h = this.source.read(0, FILE_HEADER_SIZE);
    const firstChunk = this.source.read(FILE_HEADER_SIZE, 8);
    const chunkFollows = firstChunk.length === 8 && firstChunk.equals(CHUNK_MAGIC);
    if (h.length < 128 || !h.subarray(0, 8).equals(FILE_MAGIC)) {
      if (!chunkFollows) throw new EvtxFormatError('not an EVTX file (no "ElfFile" header and no chunk at offset 4096)');
      this.report({ chunk: null, offset: 0, level: 'warning', reason: 'file header is damaged (no "ElfFile" magic); reading the chunks anyway' });
      return { firstChunk: 0n, lastChunk: 0n, nextRecordId: 0n, majorVersion: 0, minorVersion: 0, chunkCount: 0, flags: 0 };
    }
    const header: EvtxFileHeader = {
      firstChunk: h.readBigUInt64LE(8),
      lastChunk: h.readBigUInt64LE(16),
      nextRecordId: h.readBigUInt64LE(24),
      minorVersion: h.readUInt16LE(36),
      majorVersion: h.readUInt16LE(38),
      chunkCount: h.readUInt16LE(42),
      flags: h.readUInt32LE(120),
    };
    if (!(header.flags & FLAG_NO_CRC32)) {
      const stored = h.readUInt32LE(124);
      const actual = crc32(h.subarray(0, 120));
      if (stored !== actual) {
        this.report({ chunk: null, offset: 0, level: 'warning', reason: `file header checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})` });
      }
    }
    return header;
  }

  /** Every readable record, in file order. */
  *records(): Generator<EvtxRecord> {
    this.header = this.readHeader();
    const slots = Math.ceil(Math.max(0, this.source.size - FILE_HEADER_SIZE) / CHUNK_SIZE);
    this.stats.slots = slots;
    for (let i = 0; i < slots; i++) {
      const offset = FILE_HEADER_SIZE + i * CHUNK_SIZE;
      const buf = this.source.read(offset, CHUNK_SIZE);
      this.stats.bytes += buf.length;
      yield* this.chunkRecords(buf, i, offset, i < this.header.chunkCount);
    }
  }

  private *chunkRecords(buf: Buffer, index: number, fileOffset: number, declared: boolean): Generator<EvtxRecord> {
    const chunkIssue = (level: EvtxIssue['level'], reason: string) => this.report({ chunk: index, offset: fileOffset, level, reason: `chunk ${index} at offset ${hex(fileOffset)}: ${reason}` });
    if (buf.length < 8 || !buf.subarray(0, 8).equals(CHUNK_MAGIC)) {
      if (isAllZero(buf) || !declared) return; // unused space
      this.stats.badChunks++;
      chunkIssue('error', `bad chunk magic ${buf.subarray(0, 8).toString('hex').replace(/(..)(?!$)/g, '$1 ')} (expected "ElfChnk\\0"); chunk skipped`);
      return;
    }
    if (buf.length < CHUNK_HEADER_SIZE) {
      this.stats.badChunks++;
      chunkIssue('error', `truncated: the file ends ${buf.length} bytes into the chunk header; chunk skipped`);
      return;
    }
    this.stats.chunks++;
    const firstNumber = buf.readBigUInt64LE(8);
    const lastNumber = buf.readBigUInt64LE(16);
    const firstId = buf.readBigUInt64LE(24);
    const lastId = buf.readBigUInt64LE(32);
    const freeSpace = buf.readUInt32LE(48);
    const flags = buf.readUInt32LE(120);
    const noCrc = ((this.header?.flags ?? 0) | flags) & FLAG_NO_CRC32;
    let headerSound = true;
    if (!noCrc) {
      const stored = buf.readUInt32LE(124);
      const actual = crc32(buf.subarray(128, CHUNK_HEADER_SIZE), crc32(buf.subarray(0, 120)));
      if (stored !== actual) {
        headerSound = false;
        chunkIssue('warning', `header checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)}); reading its records one by one`);
      }
    }
    const limit = freeSpace >= CHUNK_HEADER_SIZE && freeSpace <= buf.length ? freeSpace : buf.length;
    if (!noCrc && freeSpace >= CHUNK_HEADER_SIZE && freeSpace <= buf.length) {
      const stored = buf.readUInt32LE(52);
      const actual = crc32(buf.subarray(CHUNK_HEADER_SIZE, freeSpace));
      if (stored !== actual) chunkIssue('warning', `event records checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)}); reading its records one by one`);
    }
    if (buf.length < CHUNK_SIZE) chunkIssue('warning', `truncated: the file ends ${buf.length} of ${CHUNK_SIZE} bytes into the chunk`);
    const expected = headerSound && lastNumber >= firstNumber && lastNumber - firstNumber < BigInt(CHUNK_SIZE) ? Number(lastNumber - firstNumber) + 1 : 0;
    this.stats.expectedRecords += expected;
    const idRange = headerSound && lastId >= firstId ? { first: firstId, last: lastId } : undefined;

    const strings = new ChunkStrings(buf);
    let read = 0;
    let previousId = -1n;
    let pos = CHUNK_HEADER_SIZE;
    while (pos + RECORD_HEADER_SIZE <= limit) {
      const problem = recordProblem(buf, pos);
      if (problem) {
        if (read >= expected && isAllZero(buf, pos, limit)) break;
        const next = resync(buf, pos + 8, limit, previousId, idRange);
        const where = `record header at offset ${hex(fileOffset + pos)}: ${problem}`;
        const outcome = next < 0 ? 'no further records in the chunk' : `resumed at offset ${hex(fileOffset + next)} (${next - pos} bytes skipped)`;
        this.report({ chunk: index, offset: fileOffset + pos, level: 'error', reason: `chunk ${index}: ${where}; ${outcome}` });
        if (next < 0) break;
        pos = next;
        continue;
      }
      const size = buf.readUInt32LE(pos + 4);
      const recordId = buf.readBigUInt64LE(pos + 8);
      const copyMismatch = buf.readUInt32LE(pos + size - 4) !== size;
      try {
        const nodes = parseRecordXml(strings, pos + RECORD_HEADER_SIZE, pos + size - 4);
        const root = nodes.find(isElement);
        if (!root) throw new EvtxFormatError('record holds no XML element');
        if (copyMismatch && textOf(childElement(childElement(root, 'System') ?? root, 'EventRecordID')) !== recordId.toString()) {
          throw new EvtxFormatError('its EventRecordID is not the header\'s: half-overwritten');
        }
        const xml = renderXml(root);
        if (copyMismatch) this.report({ chunk: index, offset: fileOffset + pos, recordId, level: 'warning', reason: `chunk ${index}: record ${recordId} at offset ${hex(fileOffset + pos)}: size does not match its trailing copy: its end may be lost (values cut short); kept` });
        read++;
        this.stats.records++;
        previousId = recordId;
        yield { chunk: index, offset: fileOffset + pos, recordId, writtenNs: filetimeToNs(buf.readBigUInt64LE(pos + 16)), xml, event: eventFromTree(root, xml) };
      } catch (err) {
        if (!(err instanceof EvtxFormatError) && !(err instanceof RangeError)) throw err;
        if (copyMismatch) {
          // Not a record after all (or a half-overwritten one): look for the next one.
          const next = resync(buf, pos + 8, limit, previousId, idRange);
          const outcome = next < 0 ? 'no further records in the chunk' : `resumed at offset ${hex(fileOffset + next)} (${next - pos} bytes skipped)`;
          this.report({ chunk: index, offset: fileOffset + pos, recordId, level: 'error', reason: `chunk ${index}: record header at offset ${hex(fileOffset + pos)}: size ${size} does not match its trailing copy and its content is unusable (${err.message}); ${outcome}` });
          if (next < 0) break;
          pos = next;
          continue;
        }
        this.stats.badRecords++;
        this.report({
          chunk: index,
          offset: fileOffset + pos,
          recordId,
          level: 'error',
          reason: `chunk ${index}: record ${recordId} at offset ${hex(fileOffset + pos)} could not be parsed: ${err.message}; record skipped`,
        });
      }
      pos += size;
    }
    if (read < expected) {
      chunkIssue('error', `${read} of ${expected} records readable (record numbers ${firstNumber}-${lastNumber})`);
    }
  }
}

/** Why the record header at pos is not sound, or null. A wrong trailing size copy alone is not fatal: the content decides. */
function recordProblem(buf: Buffer, pos: number): string | null {
  const magic = buf.readUInt32LE(pos);
  if (magic !== RECORD_MAGIC) return `bad record magic ${hex(magic)}`;
  const size = buf.readUInt32LE(pos + 4);
  if (size < RECORD_HEADER_SIZE + 4 + 1) return `record size ${size} is too small`;
  if (pos + size > buf.length) return `record size ${size} runs past the chunk`;
  return null;
}

/** Offset of the next plausible record header after damage, or -1. Records are 8-byte aligned. */
function resync(buf: Buffer, from: number, limit: number, previousId: bigint, range: { first: bigint; last: bigint } | undefined): number {
  for (let p = (from + 7) & ~7; p + RECORD_HEADER_SIZE <= limit; p += 8) {
    if (buf.readUInt32LE(p) !== RECORD_MAGIC || recordProblem(buf, p)) continue;
    if (buf.readUInt32LE(p + buf.readUInt32LE(p + 4) - 4) !== buf.readUInt32LE(p + 4)) continue;
    const id = buf.readBigUInt64LE(p + 8);
    if (id <= previousId) continue;
    if (range && (id < range.first || id > range.last)) continue;
    return p;
  }
  return -1;
}

/** One line per issue for people: "error: chunk 6 at offset 0x64000: bad chunk magic ...". */
export function formatIssue(issue: EvtxIssue): string {
  return `${issue.level}: ${issue.reason}`;
}
