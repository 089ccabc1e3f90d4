/**
 * Frames of the agent's disk buffer: `u32 length | u32 crc32(body) | body`,
 * little endian, body = `u8 type | ...`:
 *
 * - RECORD:    u64 seq | an encoded cairn.agent.v1.Record (without its seq)
 * - POSITIONS: JSON {key: value | null}, the inputs' positions after the
 *              records appended with them (null: forget the key)
 * - SNAPSHOT:  JSON {seq, time, positions}: first frame of every segment, all
 *              positions and the next seq when the segment was opened
 *
 * A frame is valid when its length fits what is left of the file and its
 * checksum matches; the first invalid frame ends what is readable (a write
 * torn by a crash, or a damaged disk).
 */
import { crc32 } from 'node:zlib';
import type { JsonValue } from '../../record/record.ts';
import type { PackedRecords } from '../record.ts';

export const HEADER_BYTES = 8;
/** A record frame's bytes before its Record: header, type, seq. */
export const RECORD_HEAD_BYTES = HEADER_BYTES + 9;
export const RECORD = 1;
export const POSITIONS = 2;
export const SNAPSHOT = 3;
/** No frame is larger; a larger length is damage, not data. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export type Positions = Record<string, JsonValue | null>;

export interface Snapshot {
  /** The next seq (decimal text: seqs pass 2^53 only in centuries, but text costs nothing here). */
  seq: string;
  /** When the segment was opened, ms since the epoch. */
  time: number;
  positions: Record<string, JsonValue>;
}

function frame(type: number, payload: Buffer, extra?: Buffer): Buffer {
  const bodyLength = 1 + (extra?.length ?? 0) + payload.length;
  const out = Buffer.allocUnsafe(HEADER_BYTES + bodyLength);
  out.writeUInt32LE(bodyLength, 0);
  out[HEADER_BYTES] = type;
  let at = HEADER_BYTES + 1;
  if (extra) at += extra.copy(out, at);
  payload.copy(out, at);
  out.writeUInt32LE(crc32(out.subarray(HEADER_BYTES)), 4);
  return out;
}

export function recordFrame(seq: number, record: Buffer): Buffer {
  const head = Buffer.allocUnsafe(8);
  writeSeq(head, seq, 0);
  return frame(RECORD, record, head);
}

/** Writes a seq (an integer below 2^53) as a u64, little endian, without a BigInt. */
function writeSeq(out: Buffer, seq: number, at: number): void {
  out.writeUInt32LE(seq % 0x1_0000_0000, at);
  out.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), at + 4);
}

/** Bytes the record frames for `records` take. */
export function recordFramesBytes(records: readonly Buffer[] | PackedRecords): number {
  if (!Array.isArray(records)) {
    const packed = records as PackedRecords;
    return packed.ends.length * RECORD_HEAD_BYTES + (packed.ends.at(-1) ?? 0);
  }
  let size = 0;
  for (const r of records as readonly Buffer[]) size += RECORD_HEAD_BYTES + r.length;
  return size;
}

/** Writes record frames for consecutive seqs from firstSeq at `at` (room: recordFramesBytes); returns the end. */
export function writeRecordFrames(out: Buffer, at: number, firstSeq: number, records: readonly Buffer[] | PackedRecords): number {
  const packed = Array.isArray(records) ? null : (records as PackedRecords);
  const list = packed ? null : (records as readonly Buffer[]);
  const count = packed ? packed.ends.length : list!.length;
  let start = 0;
  for (let i = 0; i < count; i++) {
    const frameStart = at;
    const length = packed ? packed.ends[i]! - start : list![i]!.length;
    out.writeUInt32LE(9 + length, at);
    out[at + HEADER_BYTES] = RECORD;
    writeSeq(out, firstSeq + i, at + HEADER_BYTES + 1);
    at += RECORD_HEAD_BYTES;
    if (packed) {
      at += packed.data.copy(out, at, start, packed.ends[i]);
      start = packed.ends[i]!;
    } else {
      at += list![i]!.copy(out, at);
    }
    out.writeUInt32LE(crc32(out.subarray(frameStart + HEADER_BYTES, at)), frameStart + 4);
  }
  return at;
}

export function positionsFrame(positions: Positions): Buffer {
  return frame(POSITIONS, Buffer.from(JSON.stringify(positions)));
}

export function snapshotFrame(snapshot: Snapshot): Buffer {
  return frame(SNAPSHOT, Buffer.from(JSON.stringify(snapshot)));
}

/** A u64 seq as a number (seqs stay far below 2^53: they start at the clock in µs). */
export function readSeq(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at + 4) * 0x1_0000_0000 + buf.readUInt32LE(at);
}

export type Frame =
  | { type: typeof RECORD; seq: number; record: Buffer; bytes: number }
  | { type: typeof POSITIONS; positions: Positions; bytes: number }
  | { type: typeof SNAPSHOT; snapshot: Snapshot; bytes: number };

/**
 * The frame at `at` in `buf`: a frame, 'partial' (it runs past the end of
 * `buf`: read more), or 'invalid' (damage). `fileLeft` is how many bytes the
 * file holds from `at` on, so a length past the end of the file is damage.
 */
export function readFrame(buf: Buffer, at: number, fileLeft: number): Frame | 'partial' | 'invalid' {
  if (fileLeft < HEADER_BYTES + 1) return 'invalid';
  if (buf.length - at < HEADER_BYTES) return 'partial';
  const length = buf.readUInt32LE(at);
  if (length < 1 || length > MAX_FRAME_BYTES || HEADER_BYTES + length > fileLeft) return 'invalid';
  if (buf.length - at < HEADER_BYTES + length) return 'partial';
  const body = buf.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
  if (crc32(body) !== buf.readUInt32LE(at + 4)) return 'invalid';
  const bytes = HEADER_BYTES + length;
  try {
    switch (body[0]) {
      case RECORD:
        if (length < 9) return 'invalid';
        return { type: RECORD, seq: readSeq(body, 1), record: body.subarray(9), bytes };
      case POSITIONS:
        return { type: POSITIONS, positions: JSON.parse(body.subarray(1).toString()) as Positions, bytes };
      case SNAPSHOT:
        return { type: SNAPSHOT, snapshot: JSON.parse(body.subarray(1).toString()) as Snapshot, bytes };
      default:
        return 'invalid';
    }
  } catch {
    return 'invalid';
  }
}
