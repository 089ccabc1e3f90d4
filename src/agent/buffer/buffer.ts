/**
 * The agent's disk buffer: every record is written here before it is shipped
 * and leaves only after the server acknowledged it as durable.
 *
 * Design note: an append-only sequence of segment files of checksummed frames
 * (frame.ts). Each record gets a seq (increasing, never reused: a new buffer
 * starts at the clock in µs, so it begins above any buffer before it), which
 * travels with it to the server and makes resends recognisable there.
 * Inputs append their records together with their new positions (file
 * offsets, journal cursors, bookmarks) in one write, so a record and the
 * position past it are on disk together or not at all: after a crash an input
 * resumes exactly after what the buffer holds, without loss and without
 * reading anything twice. Every segment opens with a snapshot of all
 * positions, so old segments can go once their records are acknowledged.
 *
 * Durability: appends are written at once (a process crash loses nothing
 * written) and fsynced as a group every `fsyncIntervalMs` (0: each append
 * waits for its fsync); a power loss can lose the last interval's records and
 * positions together, so inputs read them again. Only fsynced records are
 * handed to the shipper, so a seq the server has seen is never reused.
 *
 * Acknowledgement: the shipper reads chunks in order and acks them in any
 * order; everything before the oldest unacknowledged chunk is done. That
 * point is persisted (`acked`, at most once a second), so after a crash the
 * records between it and the real point are sent again: the server drops
 * them by seq.
 *
 * Bounds: at most maxBytes on disk. `block` makes appends wait until acks
 * free space (inputs stop reading; they resume from their positions);
 * `drop_oldest` deletes the oldest segment and counts its unsent records as
 * dropped. At startup every segment is read and checked; the first invalid
 * frame (a write torn by a crash) ends its segment: the rest is cut off and
 * counted.
 */
import { closeSync, fstatSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonValue } from '../../record/record.ts';
import { writeFileAtomic } from '../../util/atomic-file.ts';
import { recordCount, type PackedRecords } from '../record.ts';
import { HEADER_BYTES, POSITIONS, RECORD, RECORD_HEAD_BYTES, SNAPSHOT, positionsFrame, readFrame, recordFramesBytes, snapshotFrame, writeRecordFrames, type Positions } from './frame.ts';
import { ScratchBuffer } from '../../util/scratch.ts';

export interface DiskBufferOptions {
  dir: string;
  maxBytes: number;
  segmentBytes: number;
  policy: 'block' | 'drop_oldest';
  /** Group fsync interval; 0 = every append waits for its fsync. */
  fsyncIntervalMs: number;
  /** Records dropped unsent (reason: buffer_full). */
  onDrop?: (records: number, reason: string) => void;
  /** Damage found at startup: bytes cut off a segment. */
  onTorn?: (segment: string, offset: number, bytes: number) => void;
}

export interface BufferedRecord {
  seq: number;
  /** The encoded cairn.agent.v1.Record, without its seq. */
  record: Buffer;
}

/**
 * Records read together: record i is data[starts[i], ends[i]) with seq
 * seqs[i]. Kept as arrays of numbers, not an object per record: a chunk of
 * thousands of records would otherwise be a megabyte of small objects alive
 * until the batch is encoded, promoted by the young-generation GC and
 * collected by full GCs (measured: a third of the agent's CPU went to GC).
 */
export class ReadChunk {
  readonly data: Buffer;
  readonly seqs: number[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  /** Record bytes in the chunk. */
  bytes = 0;

  constructor(data: Buffer) {
    this.data = data;
  }

  get count(): number {
    return this.seqs.length;
  }

  get lo(): number {
    return this.seqs[0]!;
  }

  get hi(): number {
    return this.seqs.at(-1)!;
  }

  add(seq: number, start: number, end: number): void {
    this.seqs.push(seq);
    this.starts.push(start);
    this.ends.push(end);
    this.bytes += end - start;
  }

  /** The records one by one (tests, diagnostics); slices of `data`, like it valid until the next read(). */
  get records(): BufferedRecord[] {
    return this.seqs.map((seq, i) => ({ seq, record: this.data.subarray(this.starts[i], this.ends[i]) }));
  }
}

export interface BufferStats {
  bytes: number;
  segments: number;
  /** Records appended and not yet acknowledged. */
  unackedRecords: number;
  /** Age of the oldest unacknowledged record, ms (0 when none). */
  oldestUnackedMs: number;
  ackedThrough: number;
}

interface Segment {
  id: number;
  path: string;
  bytes: number;
  /** Seqs of its first and last record; 0 when it has none. */
  firstSeq: number;
  lastSeq: number;
}

const SEGMENT_NAME = /^(\d{16})\.seg$/;
const READ_CHUNK = 256 * 1024;
const SCAN_CHUNK = 1024 * 1024;
const ACK_SAVE_MS = 1000;

export class DiskBuffer {
  private readonly opts: DiskBufferOptions;
  private readonly segments: Segment[] = [];
  private readonly positions = new Map<string, JsonValue>();
  private active!: Segment;
  private activeFd = -1;
  private nextSeq = 0;
  private totalBytes = 0;
  /** How far the active segment is fsynced (earlier segments are, entirely). */
  private durable = { id: 0, offset: 0 };
  private dirty = false;
  private syncing: Promise<void> | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  private syncWaiters: (() => void)[] = [];
  private appendChain: Promise<void> = Promise.resolve();
  /** Where appends are framed before their write. */
  private readonly writeScratch = new ScratchBuffer();
  private roomWaiters: (() => void)[] = [];
  private readWaiters: (() => void)[] = [];
  // Reader.
  private readSegment = 0;
  private readOffset = 0;
  private readFd = -1;
  private readFdSegment = -1;
  /** Reused for every read: records handed out are slices of it, valid until the next read(). */
  private readBuf = Buffer.alloc(0);
  private lastReadSeq = 0;
  private readonly outstanding: { lo: number; hi: number; done: boolean }[] = [];
  private ackedThrough = 0;
  private savedAck = -1;
  private ackTimer: NodeJS.Timeout | null = null;
  /** (first seq, time) of appends, to tell the age of the oldest unacknowledged record. */
  private readonly times: { seq: number; time: number }[] = [];
  private closed = false;

  private constructor(opts: DiskBufferOptions) {
    this.opts = opts;
  }

  static open(opts: DiskBufferOptions): DiskBuffer {
    const buffer = new DiskBuffer({ ...opts, segmentBytes: Math.max(64 * 1024, Math.min(opts.segmentBytes, Math.floor(opts.maxBytes / 4))) });
    buffer.recover();
    return buffer;
  }

  private segmentPath(id: number): string {
    return join(this.opts.dir, `${String(id).padStart(16, '0')}.seg`);
  }

  private get ackFile(): string {
    return join(this.opts.dir, 'acked');
  }

  /** Reads every segment, cuts torn tails, restores positions, the next seq and the ack point, and opens a new segment. */
  private recover(): void {
    mkdirSync(this.opts.dir, { recursive: true });
    const ids = readdirSync(this.opts.dir)
      .map((name) => SEGMENT_NAME.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    let snapshotSeq = 0;
    for (const id of ids) {
      const seg: Segment = { id, path: this.segmentPath(id), bytes: 0, firstSeq: 0, lastSeq: 0 };
      const fd = openSync(seg.path, 'r+');
      try {
        const size = this.scan(fd, seg, (f) => {
          if (f.type === RECORD) {
            if (seg.firstSeq === 0) seg.firstSeq = f.seq;
            seg.lastSeq = f.seq;
          } else if (f.type === POSITIONS) this.applyPositions(f.positions);
          else if (f.type === SNAPSHOT) {
            this.positions.clear();
            this.applyPositions(f.snapshot.positions);
            snapshotSeq = Math.max(snapshotSeq, Number(f.snapshot.seq));
            this.times.push({ seq: Number(f.snapshot.seq), time: f.snapshot.time });
          }
        });
        if (seg.bytes < size) {
          this.opts.onTorn?.(seg.path, seg.bytes, size - seg.bytes);
          ftruncateSync(fd, seg.bytes);
          fsyncSync(fd);
        }
      } finally {
        closeSync(fd);
      }
      this.segments.push(seg);
      this.totalBytes += seg.bytes;
    }
    const lastSeq = this.segments.reduce((m, s) => Math.max(m, s.lastSeq), 0);
    this.nextSeq = Math.max(lastSeq + 1, snapshotSeq, ids.length === 0 ? Date.now() * 1000 : 0);
    const firstRecord = this.segments.find((s) => s.firstSeq > 0)?.firstSeq ?? this.nextSeq;
    let acked = firstRecord - 1;
    try {
      acked = Math.max(acked, Number(readFileSync(this.ackFile, 'utf8').trim()) || 0);
    } catch {
      // No ack point yet: everything in the segments is unacknowledged.
    }
    this.ackedThrough = this.lastReadSeq = Math.min(acked, this.nextSeq - 1);
    this.savedAck = acked;
    this.readSegment = this.segments[0]?.id ?? 0;
    this.openSegment((this.segments.at(-1)?.id ?? 0) + 1);
    this.collect();
  }

  /** Scans a segment's frames from the start; seg.bytes ends at the last valid one. Returns the file size. */
  private scan(fd: number, seg: Segment, onFrame: (f: Exclude<ReturnType<typeof readFrame>, 'partial' | 'invalid'>) => void): number {
    const size = fstatSync(fd).size;
    let buf = Buffer.alloc(0);
    let bufStart = 0;
    let at = 0;
    for (;;) {
      const rel = at - bufStart;
      const f = readFrame(buf, rel, size - at);
      if (f === 'invalid') break;
      if (f === 'partial') {
        const need = buf.length - rel >= HEADER_BYTES ? HEADER_BYTES + buf.readUInt32LE(rel) : SCAN_CHUNK;
        const len = Math.min(Math.max(need, SCAN_CHUNK), size - at);
        buf = Buffer.allocUnsafe(len);
        readFully(fd, buf, at);
        bufStart = at;
        continue;
      }
      onFrame(f);
      at += f.bytes;
      seg.bytes = at;
    }
    return size;
  }

  private applyPositions(p: Positions): void {
    for (const [k, v] of Object.entries(p)) {
      if (v === null) this.positions.delete(k);
      else this.positions.set(k, v);
    }
  }

  /** Opens a new active segment that starts with a snapshot of every position. */
  private openSegment(id: number): void {
    const seg: Segment = { id, path: this.segmentPath(id), bytes: 0, firstSeq: 0, lastSeq: 0 };
    const fd = openSync(seg.path, 'w');
    const snap = snapshotFrame({ seq: String(this.nextSeq), time: Date.now(), positions: Object.fromEntries(this.positions) });
    writeFully(fd, snap);
    fsyncSync(fd);
    syncDir(this.opts.dir);
    seg.bytes = snap.length;
    this.segments.push(seg);
    this.totalBytes += snap.length;
    this.active = seg;
    this.activeFd = fd;
    this.durable = { id, offset: seg.bytes };
  }

  /** Ends the active segment (fsynced) and opens the next. */
  private async rotate(): Promise<void> {
    await this.sync();
    fsyncSync(this.activeFd);
    closeSync(this.activeFd);
    this.openSegment(this.active.id + 1);
    this.wakeReaders();
  }

  position(key: string): JsonValue | undefined {
    return this.positions.get(key);
  }

  /** Keys of stored positions that start with prefix. */
  positionKeys(prefix: string): string[] {
    return [...this.positions.keys()].filter((k) => k.startsWith(prefix));
  }

  /**
   * Appends records and the positions past them, as one write. Resolves when
   * written (with fsyncIntervalMs 0: when fsynced). With policy `block` it
   * waits while the buffer is full.
   */
  append(records: readonly Buffer[] | PackedRecords, positions?: Positions): Promise<void> {
    const run = this.appendChain.then(() => this.appendNow(records, positions));
    this.appendChain = run.catch(() => undefined);
    return run;
  }

  private async appendNow(records: readonly Buffer[] | PackedRecords, positions?: Positions): Promise<void> {
    if (this.closed) throw new Error('the buffer is closed');
    const firstSeq = this.nextSeq;
    const count = recordCount(records);
    this.nextSeq += count;
    const recordBytes = count > 0 ? recordFramesBytes(records) : 0;
    const positionsPart = positions && Object.keys(positions).length > 0 ? positionsFrame(positions) : null;
    const size = recordBytes + (positionsPart?.length ?? 0);
    if (size === 0) return;
    await this.makeRoom(size);
    if (this.closed) throw new Error('the buffer is closed');
    if (this.active.bytes + size > this.opts.segmentBytes && this.active.bytes > HEADER_BYTES * 8) await this.rotate();
    // Written at once (synchronously), so the scratch is free again before the next append.
    const out = this.writeScratch.take(size);
    const at = count > 0 ? writeRecordFrames(out, 0, firstSeq, records) : 0;
    positionsPart?.copy(out, at);
    writeFully(this.activeFd, out);
    this.active.bytes += size;
    this.totalBytes += size;
    if (count > 0) {
      if (this.active.firstSeq === 0) this.active.firstSeq = firstSeq;
      this.active.lastSeq = this.nextSeq - 1;
      // One sample a second is enough to tell the lag, and bounds the list during long outages.
      const now = Date.now();
      if (this.times.length === 0 || now - this.times.at(-1)!.time >= 1000) this.times.push({ seq: firstSeq, time: now });
    }
    if (positions) this.applyPositions(positions);
    this.dirty = true;
    if (this.opts.fsyncIntervalMs === 0) await this.sync();
    else this.syncTimer ??= setTimeout(() => void this.sync(), this.opts.fsyncIntervalMs).unref();
  }

  private async makeRoom(size: number): Promise<void> {
    while (this.totalBytes + size > this.opts.maxBytes && this.segments.length > 1 && !this.closed) {
      if (this.opts.policy === 'drop_oldest') {
        this.dropOldest();
        continue;
      }
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  private dropOldest(): void {
    const seg = this.segments[0]!;
    if (seg === this.active) return;
    const unread = seg.lastSeq === 0 ? 0 : seg.lastSeq - Math.max(seg.firstSeq - 1, this.lastReadSeq);
    if (this.readSegment <= seg.id) {
      this.readSegment = this.segments[1]!.id;
      this.readOffset = 0;
    }
    this.removeSegment(seg);
    if (unread > 0) this.opts.onDrop?.(unread, 'buffer_full');
    this.lastReadSeq = Math.max(this.lastReadSeq, seg.lastSeq);
    this.advanceAck();
  }

  private removeSegment(seg: Segment): void {
    if (this.readFdSegment === seg.id) this.closeReadFd();
    unlinkSync(seg.path);
    this.segments.splice(this.segments.indexOf(seg), 1);
    this.totalBytes -= seg.bytes;
  }

  /** fsyncs what was written; the records up to there become readable. */
  sync(): Promise<void> {
    if (this.syncTimer) {
      clearTimeout(this.syncTimer);
      this.syncTimer = null;
    }
    if (this.syncing) return this.syncing.then(() => (this.dirty ? this.sync() : undefined));
    if (!this.dirty) return Promise.resolve();
    this.dirty = false;
    const target = { id: this.active.id, offset: this.active.bytes };
    const fd = this.activeFd;
    this.syncing = new Promise<void>((resolve) => {
      fsync(fd, (err) => {
        this.syncing = null;
        // A failed fsync leaves the data unconfirmed; the next one tries again.
        if (err) this.dirty = true;
        else if (target.id === this.active.id) this.durable = target;
        this.wakeReaders();
        resolve();
      });
    });
    return this.syncing;
  }

  private wakeReaders(): void {
    for (const w of this.readWaiters.splice(0)) w();
  }

  /**
   * The next durable records (at most maxRecords, about maxBytes) after those
   * read before; waits until there are some. null once the buffer is closed.
   * The records are slices of a buffer the next read() reuses: copy what must
   * outlive it.
   */
  async read(maxRecords: number, maxBytes: number): Promise<ReadChunk | null> {
    for (;;) {
      if (this.closed) return null;
      const chunk = this.readAvailable(maxRecords, maxBytes);
      if (chunk) {
        this.outstanding.push({ lo: chunk.lo, hi: chunk.hi, done: false });
        this.lastReadSeq = chunk.hi;
        return chunk;
      }
      await new Promise<void>((resolve) => this.readWaiters.push(resolve));
    }
  }

  private readLimit(seg: Segment): number {
    if (seg.id < this.durable.id) return seg.bytes;
    if (seg.id === this.durable.id) return this.durable.offset;
    return 0;
  }

  private readAvailable(maxRecords: number, maxBytes: number): ReadChunk | null {
    for (;;) {
      const seg = this.segments.find((s) => s.id >= this.readSegment);
      if (!seg) return null;
      if (seg.id !== this.readSegment) {
        this.readSegment = seg.id;
        this.readOffset = 0;
      }
      const limit = this.readLimit(seg);
      if (this.readOffset >= limit) {
        if (seg.id < this.durable.id) {
          this.readSegment = seg.id + 1;
          this.readOffset = 0;
          this.collect();
          continue;
        }
        return null;
      }
      if (this.readFdSegment !== seg.id) {
        this.closeReadFd();
        this.readFd = openSync(seg.path, 'r');
        this.readFdSegment = seg.id;
      }
      let buf = this.readInto(Math.min(limit - this.readOffset, Math.max(maxBytes, READ_CHUNK)));
      let chunk = new ReadChunk(buf);
      let at = 0;
      while (at < buf.length && chunk.count < maxRecords && chunk.bytes < maxBytes) {
        const f = readFrame(buf, at, limit - this.readOffset - at);
        if (f === 'invalid') {
          // Only a damaged disk gets here (startup cut torn tails): skip the rest of the segment.
          this.opts.onTorn?.(seg.path, this.readOffset + at, limit - this.readOffset - at);
          at = limit - this.readOffset;
          break;
        }
        if (f === 'partial') {
          if (at > 0) break;
          // One frame larger than the chunk: read exactly it.
          buf = this.readInto(HEADER_BYTES + buf.readUInt32LE(0));
          chunk = new ReadChunk(buf);
          continue;
        }
        if (f.type === RECORD && f.seq > this.lastReadSeq) chunk.add(f.seq, at + RECORD_HEAD_BYTES, at + f.bytes);
        at += f.bytes;
      }
      this.readOffset += at;
      if (chunk.count > 0) return chunk;
    }
  }

  private readInto(length: number): Buffer {
    if (this.readBuf.length < length) this.readBuf = Buffer.allocUnsafe(length);
    const buf = this.readBuf.subarray(0, length);
    readFully(this.readFd, buf, this.readOffset);
    return buf;
  }

  private closeReadFd(): void {
    if (this.readFd >= 0) closeSync(this.readFd);
    this.readFd = -1;
    this.readFdSegment = -1;
  }

  /** The server stored (or refused for good) the chunk that read() returned as [lo, hi]. */
  ack(lo: number, hi: number): void {
    const chunk = this.outstanding.find((c) => c.lo === lo && c.hi === hi);
    if (!chunk) return;
    chunk.done = true;
    this.advanceAck();
  }

  private advanceAck(): void {
    while (this.outstanding[0]?.done) this.outstanding.shift();
    const front = this.outstanding[0] ? this.outstanding[0].lo - 1 : this.lastReadSeq;
    if (front <= this.ackedThrough) return;
    this.ackedThrough = front;
    while (this.times.length > 1 && this.times[1]!.seq <= front + 1) this.times.shift();
    this.collect();
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = null;
      this.saveAck();
    }, ACK_SAVE_MS).unref();
  }

  private saveAck(): void {
    if (this.savedAck === this.ackedThrough) return;
    writeFileAtomic(this.ackFile, `${this.ackedThrough}\n`, 0o644);
    this.savedAck = this.ackedThrough;
  }

  /** Deletes sealed segments whose records are all acknowledged and that the reader has left. */
  private collect(): void {
    let freed = false;
    for (const seg of [...this.segments]) {
      if (seg === this.active || seg.id >= this.readSegment) break;
      if (seg.lastSeq > this.ackedThrough) break;
      this.removeSegment(seg);
      freed = true;
    }
    if (freed) for (const w of this.roomWaiters.splice(0)) w();
  }

  stats(): BufferStats {
    const unacked = Math.max(0, this.nextSeq - 1 - this.ackedThrough);
    const oldest = this.times[0];
    return {
      bytes: this.totalBytes,
      segments: this.segments.length,
      unackedRecords: unacked,
      oldestUnackedMs: unacked > 0 && oldest ? Math.max(0, Date.now() - oldest.time) : 0,
      ackedThrough: this.ackedThrough,
    };
  }

  /** Flushes and fsyncs what was written, saves the ack point, releases waiters. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Appends waiting for room give up (their inputs re-read them after a restart).
    for (const w of this.roomWaiters.splice(0)) w();
    this.wakeReaders();
    await this.appendChain;
    await this.sync();
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.saveAck();
    closeSync(this.activeFd);
    this.closeReadFd();
  }
}

function readFully(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) throw new Error(`unexpected end of a buffer segment at ${position + done}`);
    done += n;
  }
}

function writeFully(fd: number, buf: Buffer): void {
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Directories cannot be opened for fsync on Windows; renames and creates are durable there anyway.
  }
}
