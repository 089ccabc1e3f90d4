/**
 * The file input: follows the files its globs match, through rotation.
 *
 * Design note: a file is known by its identity (device + inode), not its
 * name, and its position (offset past the last line buffered, plus a
 * checksum of its first bytes) is stored in the disk buffer under that
 * identity, in the same write as the lines. So:
 * - rename rotation (app.log → app.log.1, new app.log): the renamed file is
 *   the same identity; it is read to its end (and for a grace second after,
 *   for late writes), then closed; the new file is another identity, read
 *   from its start;
 * - copytruncate: the same identity shrinks below the offset, or its first
 *   bytes change: read again from 0 (counted as a truncate rotation);
 * - an inode reused by a new file: its first bytes do not match: from 0;
 * - a restart: each file resumes at its saved offset.
 * Lines not yet complete, and multiline records still open, are not covered
 * by the saved offset, so they are read again after a restart. Files are
 * polled (fstat) rather than watched: it works the same on every OS and
 * filesystem, and a busy file is read continuously anyway.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { glob } from 'node:fs/promises';
import { basename, matchesGlob } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Attrs } from '../../record/record.ts';
import { nowNs } from '../../record/time.ts';
import type { FileInputConfig } from '../config.ts';
import { agentInputs, loopInput, pause, type Input, type InputContext, type InputFactory } from '../input.ts';
import { encodeFields, int64Bits, SharedFieldsEncoder, type PackedRecords } from '../record.ts';
import { LineSplitter, type Line } from './lines.ts';
import { MultilineJoiner } from './multiline.ts';
import { ScratchBuffer } from '../../util/scratch.ts';

const READ_BYTES = 64 * 1024;
const FINGERPRINT_BYTES = 1024;
/** A rotated-away or deleted file is read for this long after it was last seen growing. */
const GONE_GRACE_MS = 1000;
/** Lines per append: one write, one position update. */
const APPEND_LINES = 4096;

export type FilePosition = {
  path: string;
  offset: number;
  /** crc32 of the first fp_len bytes. */
  fp: number;
  fp_len: number;
};

interface Tailer {
  key: string;
  path: string;
  fd: number;
  /** Next byte to read. */
  offset: number;
  fp: number;
  fpLen: number;
  splitter: LineSplitter;
  joiner: MultilineJoiner | null;
  /** When the path stopped leading here (renamed away or deleted); 0 while it does. */
  goneAt: number;
  lastDataAt: number;
  /** When unread data was first seen after the file was caught up; 0 when caught up. */
  behindSince: number;
  attrsBase: Attrs;
  /** The fields every record of this file shares, with attrs serialized once. */
  template: Record<string, unknown>;
  /** Encodes lines with the template's fields (built together with the template). */
  encoder: SharedFieldsEncoder;
}

function identity(st: BigIntStats): string {
  return `file:${st.dev}:${st.ino}`;
}

function readAt(fd: number, position: number, length: number, into?: Buffer): Buffer {
  const buf = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

function fingerprint(fd: number, size: number): { fp: number; fpLen: number } {
  const fpLen = Math.min(size, FINGERPRINT_BYTES);
  const bytes = readAt(fd, 0, fpLen);
  return { fp: crc32(bytes), fpLen: bytes.length };
}

export function createFileInput(cfg: FileInputConfig, name: string, ctx: InputContext): Input {
  const { buffer, metrics, logger } = ctx;
  const tailers = new Map<string, Tailer>();
  const controller = new AbortController();
  const start = cfg.multiline ? new RegExp(cfg.multiline.start) : null;
  let firstScan = true;
  // Reused by every read: lines are decoded (copied) before the next one.
  const readBuf = Buffer.allocUnsafe(READ_BYTES);
  let lastScan = 0;

  const makeTailer = (path: string, st: BigIntStats, fd: number): Tailer => {
    const key = identity(st);
    const size = Number(st.size);
    const saved = buffer.position(key) as FilePosition | undefined;
    const current = fingerprint(fd, size);
    let offset = 0;
    let fp = current;
    if (saved && saved.offset <= size && saved.fp_len <= size && fingerprint(fd, saved.fp_len).fp === saved.fp) {
      offset = saved.offset;
      fp = { fp: saved.fp, fpLen: saved.fp_len };
    } else if (firstScan && cfg.start_at === 'end') offset = size;
    const attrsBase: Attrs = { ...(cfg.attrs as Attrs), file: path };
    return {
      key,
      path,
      fd,
      offset,
      fp: fp.fp,
      fpLen: fp.fpLen,
      splitter: new LineSplitter({
        encoding: cfg.encoding,
        maxBytes: cfg.max_line_bytes,
        oversize: cfg.oversize_action,
        onOversize: (action) => (action === 'drop' ? metrics.dropped.inc({ reason: 'line_too_long' }) : metrics.truncated.inc({ input: name })),
      }),
      joiner: start && cfg.multiline ? new MultilineJoiner({ start, maxLines: cfg.multiline.max_lines, maxBytes: cfg.max_line_bytes, timeoutMs: cfg.multiline.timeout }) : null,
      goneAt: 0,
      lastDataAt: Date.now(),
      behindSince: 0,
      ...sharedFields(path, attrsBase),
      attrsBase,
    };
  };

  /** What every record of the file at `path` shares, and the encoder built on it. */
  const sharedFields = (path: string, attrsBase: Attrs): Pick<Tailer, 'template' | 'encoder'> => {
    const template = {
      host: ctx.hostname,
      unit: cfg.unit ?? basename(path),
      service: cfg.service,
      severity: 6,
      os: ctx.os,
      type: cfg.type ?? 'application',
      attrsJson: JSON.stringify(attrsBase),
    };
    return { template, encoder: new SharedFieldsEncoder(template) };
  };

  /** Matches the globs: opens new files, notices renamed and vanished ones. */
  const scan = async () => {
    const seen = new Set<string>();
    for (const pattern of cfg.paths) {
      for await (const path of glob(pattern)) {
        if (cfg.exclude.some((ex) => matchesGlob(path, ex) || matchesGlob(basename(path), ex))) continue;
        let st: BigIntStats;
        try {
          st = statSync(path, { bigint: true });
        } catch {
          continue; // gone between the match and the stat
        }
        if (!st.isFile()) continue;
        const key = identity(st);
        if (seen.has(key)) continue;
        const owner = ctx.claims.get(key);
        if (owner !== undefined && owner !== name) continue;
        seen.add(key);
        const known = tailers.get(key);
        if (known) {
          if (known.path !== path) {
            known.path = path;
            known.attrsBase = { ...known.attrsBase, file: path };
            Object.assign(known, sharedFields(path, known.attrsBase));
          }
          known.goneAt = 0;
          continue;
        }
        // The path leads to a new file: the one that had it was rotated away.
        for (const t of tailers.values()) if (t.path === path && !t.goneAt) markGone(t, 'rename');
        let fd: number;
        try {
          fd = openSync(path, 'r');
        } catch (err) {
          logger.warn({ input: name, path, err: (err as Error).message }, 'cannot open file');
          continue;
        }
        const t = makeTailer(path, st, fd);
        tailers.set(key, t);
        ctx.claims.set(key, name);
        logger.debug({ input: name, path, offset: t.offset }, 'following file');
      }
    }
    for (const t of tailers.values()) if (!seen.has(t.key) && !t.goneAt) markGone(t, null);
    firstScan = false;
  };

  const markGone = (t: Tailer, rotation: 'rename' | null) => {
    t.goneAt = Date.now();
    if (rotation) metrics.rotations.inc({ input: name, kind: rotation });
  };

  const recordScratch = new ScratchBuffer();
  /** Lines as records packed in one buffer (a truncated line carries `truncated` in its attrs). */
  const toRecords = (t: Tailer, lines: Line[], ts: { low: number; high: number; unsigned: boolean }): PackedRecords => {
    const messageBytes: number[] = new Array(lines.length);
    let truncated: Map<number, Buffer> | null = null;
    let size = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.truncated) {
        const record = encodeFields({ ...t.template, tsUnixNano: ts, message: line.text, attrsJson: JSON.stringify({ ...t.attrsBase, truncated: true }) });
        (truncated ??= new Map()).set(i, record);
        size += record.length;
      } else {
        messageBytes[i] = Buffer.byteLength(line.text);
        size += t.encoder.maxBytes(messageBytes[i]!);
      }
    }
    // Reused: emit awaits each append, and the buffer is done with the records when it resolves.
    const data = recordScratch.take(size);
    const ends: number[] = new Array(lines.length);
    let at = 0;
    for (let i = 0; i < lines.length; i++) {
      const record = truncated?.get(i);
      at = record ? at + record.copy(data, at) : t.encoder.write(data, at, lines[i]!.text, messageBytes[i]!, ts);
      ends[i] = at;
    }
    return { data, ends };
  };

  const position = (t: Tailer, offset: number): FilePosition => ({ path: t.path, offset, fp: t.fp, fp_len: t.fpLen });

  /** Buffers finished lines with the position past the last one. */
  const emit = async (t: Tailer, lines: Line[]) => {
    if (lines.length === 0) return;
    const ts = int64Bits(nowNs());
    for (let i = 0; i < lines.length; i += APPEND_LINES) {
      const part = lines.slice(i, i + APPEND_LINES);
      await buffer.append(
        toRecords(t, part, ts),
        { [t.key]: position(t, part.at(-1)!.end) },
      );
      metrics.read.inc({ input: name }, part.length);
    }
  };

  const join = (t: Tailer, lines: Line[]): Line[] => {
    if (!t.joiner) return lines;
    const out: Line[] = [];
    for (const l of lines) out.push(...t.joiner.push(l));
    return out;
  };

  /** Reads what a file has beyond its offset. Returns whether it read anything. */
  const pump = async (t: Tailer): Promise<boolean> => {
    let st;
    try {
      st = fstatSync(t.fd);
    } catch {
      return false;
    }
    const size = st.size;
    if (size < t.offset || (t.fpLen > 0 && size >= t.fpLen && fingerprint(t.fd, t.fpLen).fp !== t.fp)) {
      // copytruncate (or rewritten in place): the same file holds new lines from its start.
      metrics.rotations.inc({ input: name, kind: 'truncate' });
      t.splitter.reset();
      t.joiner?.reset();
      t.offset = 0;
      ({ fp: t.fp, fpLen: t.fpLen } = fingerprint(t.fd, size));
      await buffer.append([], { [t.key]: position(t, 0) });
    }
    if (size <= t.offset) {
      t.behindSince = 0;
      return false;
    }
    t.behindSince ||= Date.now();
    t.lastDataAt = Date.now();
    if (t.fpLen < FINGERPRINT_BYTES && size > t.fpLen) ({ fp: t.fp, fpLen: t.fpLen } = fingerprint(t.fd, size));
    const chunk = readAt(t.fd, t.offset, Math.min(size - t.offset, READ_BYTES), readBuf);
    const lines = t.splitter.push(chunk, t.offset);
    t.offset += chunk.length;
    await emit(t, join(t, lines));
    return chunk.length > 0;
  };

  /** Idle file: flushes a multiline record past its timeout; closes a rotated-away file once drained. */
  const settle = async (t: Tailer) => {
    const idle = t.joiner?.flushIdle();
    if (idle) await emit(t, [idle]);
    if (!t.goneAt || Date.now() - Math.max(t.goneAt, t.lastDataAt) < GONE_GRACE_MS) return;
    const last: Line[] = [];
    const partial = t.splitter.flush(t.offset);
    if (partial) last.push(...join(t, [partial]));
    const open = t.joiner?.flush();
    if (open) last.push(open);
    await emit(t, last);
    closeSync(t.fd);
    tailers.delete(t.key);
    ctx.claims.delete(t.key);
    // Forget it unless the file is still there under another name the globs no longer match.
    let stillThere = false;
    try {
      stillThere = identity(statSync(t.path, { bigint: true })) === t.key;
    } catch {
      // deleted
    }
    if (!stillThere) await buffer.append([], { [t.key]: null });
    logger.debug({ input: name, path: t.path }, 'closed rotated or deleted file');
  };

  const loop = async () => {
    const signal = controller.signal;
    while (!signal.aborted) {
      try {
        if (Date.now() - lastScan >= cfg.scan_interval) {
          lastScan = Date.now();
          await scan();
        }
        let busy = false;
        for (const t of [...tailers.values()]) {
          if (signal.aborted) break;
          if (await pump(t)) busy = true;
          else await settle(t);
        }
        let lag = 0;
        for (const t of tailers.values()) if (t.behindSince) lag = Math.max(lag, (Date.now() - t.behindSince) / 1000);
        metrics.inputLag.set({ input: name }, lag);
        if (!busy) await pause(cfg.poll_interval, signal);
      } catch (err) {
        if (signal.aborted) break;
        logger.error({ input: name, err: (err as Error).message }, 'file input failed; retrying');
        await pause(1000, signal);
      }
    }
  };

  return loopInput(name, controller, loop, {
    afterStop() {
      for (const t of tailers.values()) {
        closeSync(t.fd);
        ctx.claims.delete(t.key);
      }
      tailers.clear();
    },
  });
}

agentInputs.register('files', createFileInput as InputFactory<never>);
