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

export const HEADER_BYTES = 8;
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
  head.writeBigUInt64LE(BigInt(seq));
  return frame(RECORD, record, head);
}

/** Record frames for consecutive seqs from firstSeq, in one buffer (one allocation, one write). */
export function recordFrames(firstSeq: number, records: Buffer[]): Buffer {
  let size = 0;
  for (const r of records) size += HEADER_BYTES + 9 + r.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  let seq = firstSeq;
  for (const r of records) {
    const start = at;
    out.writeUInt32LE(9 + r.length, at);
    out[at + HEADER_BYTES] = RECORD;
    out.writeBigUInt64LE(BigInt(seq++), at + HEADER_BYTES + 1);
    r.copy(out, at + HEADER_BYTES + 9);
    at += HEADER_BYTES + 9 + r.length;
    out.writeUInt32LE(crc32(out.subarray(start + HEADER_BYTES, at)), start + 4);
  }
  return out;
}

export function positionsFrame(positions: Positions): Buffer {
  return frame(POSITIONS, Buffer.from(JSON.stringify(positions)));
}

export function snapshotFrame(snapshot: Snapshot): Buffer {
  return frame(SNAPSHOT, Buffer.from(JSON.stringify(snapshot)));
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
        return { type: RECORD, seq: Number(body.readBigUInt64LE(1)), record: body.subarray(9), bytes };
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
