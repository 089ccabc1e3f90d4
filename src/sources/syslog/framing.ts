/**
 * RFC 6587 / RFC 5425 framing of a syslog byte stream (TCP and TLS).
 *
 * Design note: the framing is decided once per connection from its first
 * byte: a digit means octet counting (`LEN SP MSG`, RFC 5425 and RFC 6587
 * 3.4.1), anything else newline framing (RFC 6587 3.4.2; CR before LF and NUL
 * are trimmed). A frame that fits in one chunk is handed out as a view of the
 * chunk, without a copy; only a frame split across chunks is gathered, and
 * never beyond `maxBytes`, so a connection holds at most one message. An
 * oversized frame is skipped (octet counting: exactly LEN bytes; newline: up
 * to the next LF) or, with `truncate`, its first `maxBytes` are handed out.
 * A broken octet-count header cannot be resynchronised: the framer reports
 * it and stops, and the connection must be closed.
 */

export interface FrameSink {
  /**
   * A complete message (without framing). `truncated` when it was cut at
   * maxBytes. Returning false asks for no more frames for now: `push` stops
   * after this one and says how far it read.
   */
  frame(bytes: Buffer, truncated: boolean): boolean | void;
  /** A message longer than maxBytes was dropped (oversize action "reject"). */
  oversize(bytes: number): void;
  /** The stream is not valid framing; nothing more will be read. */
  error(reason: string): void;
}

export interface FramerOptions {
  maxBytes: number;
  oversize: 'reject' | 'truncate';
}

/** MSG-LEN digits: ten allow 9.3 GB, far past any limit; more is a broken stream, not a big message. */
const MAX_LENGTH_DIGITS = 10;
const LF = 10;

export type Framing = 'octet-counting' | 'newline';

export class SyslogFramer {
  framing: Framing | undefined;
  private readonly sink: FrameSink;
  private readonly maxBytes: number;
  private readonly truncate: boolean;
  private failed = false;
  // Octet counting state.
  private lengthDigits = 0;
  private length = 0;
  /** Bytes of the current frame still to read (kept or skipped). */
  private remaining = 0;
  private inBody = false;
  // A frame being gathered across chunks (both framings).
  private parts: Buffer[] = [];
  private gathered = 0;
  /** Newline framing: the current line passed maxBytes and is being skipped to its LF. */
  private discarding = false;
  private discarded = 0;
  /** The sink asked to stop after its last frame. */
  private stopped = false;

  constructor(sink: FrameSink, options: FramerOptions) {
    this.sink = sink;
    this.maxBytes = options.maxBytes;
    this.truncate = options.oversize === 'truncate';
  }

  /**
   * Feeds bytes; returns how many were read: all of them, unless the sink
   * asked to stop, and then the rest is to be pushed again later. After a
   * framing error everything is taken and ignored.
   */
  push(chunk: Buffer): number {
    if (this.failed) return chunk.length;
    this.stopped = false;
    let i = 0;
    if (this.framing === undefined) {
      while (i < chunk.length && isFiller(chunk[i]!)) i++;
      if (i === chunk.length) return i;
      const c = chunk[i]!;
      this.framing = c >= 49 && c <= 57 ? 'octet-counting' : 'newline';
    }
    const read = this.framing === 'newline' ? this.pushLines(chunk, i) : this.pushCounted(chunk, i);
    return this.failed ? chunk.length : read;
  }

  /** The peer closed: a last line without LF is still a message; a counted frame cut short is not. */
  end(): void {
    if (this.failed) return;
    if (this.framing === 'newline') {
      if (this.discarding) this.endDiscard();
      else if (this.gathered > 0) this.emitGathered(false);
    } else if (this.inBody || this.lengthDigits > 0) {
      this.fail(`the connection closed inside a frame (${this.inBody ? `${this.remaining} of ${this.length} bytes missing` : 'in its length'})`);
    }
    this.reset();
  }

  private pushLines(chunk: Buffer, i: number): number {
    const n = chunk.length;
    while (i < n && !this.stopped) {
      const nl = chunk.indexOf(LF, i);
      const end = nl === -1 ? n : nl;
      if (this.discarding) {
        this.discarded += end - i;
        if (nl !== -1) this.endDiscard();
      } else if (this.gathered === 0 && nl !== -1) {
        this.emitLine(chunk.subarray(i, end));
      } else {
        const part = chunk.subarray(i, end);
        // One byte past the limit is enough to know the line is too long.
        const room = this.maxBytes + 1 - this.gathered;
        const seen = this.gathered + part.length;
        this.gather(part.length > room ? part.subarray(0, room) : part);
        if (this.gathered > this.maxBytes) {
          if (this.truncate) this.emitGathered(true);
          this.reset();
          this.discarding = true;
          this.discarded = seen;
          if (nl !== -1) this.endDiscard();
        } else if (nl !== -1) {
          this.emitGathered(false);
        }
      }
      i = Math.min(end + 1, n);
    }
    return i;
  }

  /** The skipped line ended: it is reported with its full length (a truncated one was already handed out). */
  private endDiscard(): void {
    if (!this.truncate) this.sink.oversize(this.discarded);
    this.discarding = false;
    this.discarded = 0;
  }

  private emitLine(line: Buffer): void {
    let end = line.length;
    while (end > 0 && (line[end - 1] === 13 || line[end - 1] === 0)) end--;
    if (end === 0) return;
    if (end > this.maxBytes) {
      if (this.truncate) this.hand(line.subarray(0, this.maxBytes), true);
      else this.sink.oversize(end);
      return;
    }
    this.hand(end === line.length ? line : line.subarray(0, end), false);
  }

  private hand(frame: Buffer, truncated: boolean): void {
    if (this.sink.frame(frame, truncated) === false) this.stopped = true;
  }

  private pushCounted(chunk: Buffer, i: number): number {
    const n = chunk.length;
    while (i < n && !this.stopped) {
      if (!this.inBody) {
        const c = chunk[i]!;
        if (c >= 48 && c <= 57 && !(this.lengthDigits === 0 && c === 48)) {
          if (++this.lengthDigits > MAX_LENGTH_DIGITS) return this.fail(`MSG-LEN has more than ${MAX_LENGTH_DIGITS} digits`, n);
          this.length = this.length * 10 + (c - 48);
          i++;
          continue;
        }
        if (this.lengthDigits === 0 && isFiller(c)) {
          i++; // some senders end each counted frame with LF anyway
          continue;
        }
        if (c !== 32 || this.lengthDigits === 0) {
          return this.fail(`expected an octet count ("LEN SP MSG") at a frame start, got byte 0x${c.toString(16).padStart(2, '0')}`, n);
        }
        i++;
        this.inBody = true;
        this.remaining = this.length;
        if (this.length > this.maxBytes && !this.truncate) this.sink.oversize(this.length);
      }
      const take = Math.min(this.remaining, n - i);
      // Offset of these bytes inside the frame: the kept part is its first maxBytes.
      const offset = this.length - this.remaining;
      const keep = Math.max(0, Math.min(take, (this.length > this.maxBytes && !this.truncate ? 0 : this.maxBytes) - offset));
      if (keep > 0) {
        if (this.gathered === 0 && keep === this.length) this.hand(chunk.subarray(i, i + keep), false);
        else this.gather(chunk.subarray(i, i + keep));
      }
      this.remaining -= take;
      i += take;
      if (this.remaining === 0) {
        if (this.gathered > 0) this.emitGathered(this.length > this.maxBytes);
        this.reset();
      }
    }
    return i;
  }

  private gather(part: Buffer): void {
    if (part.length === 0) return;
    // The chunk may be reused by the socket; a part kept past this call is copied.
    this.parts.push(Buffer.from(part));
    this.gathered += part.length;
  }

  private emitGathered(truncated: boolean): void {
    let all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.gathered);
    if (this.framing === 'newline') {
      if (all.length > this.maxBytes) all = all.subarray(0, this.maxBytes);
      let end = all.length;
      while (end > 0 && (all[end - 1] === 13 || all[end - 1] === 0)) end--;
      all = all.subarray(0, end);
    }
    this.parts = [];
    this.gathered = 0;
    if (all.length > 0) this.hand(all, truncated);
  }

  private reset(): void {
    this.parts = [];
    this.gathered = 0;
    this.inBody = false;
    this.lengthDigits = 0;
    this.length = 0;
    this.remaining = 0;
  }

  private fail(reason: string, consumed = 0): number {
    this.failed = true;
    this.reset();
    this.sink.error(reason);
    return consumed;
  }
}

/** Bytes between frames that carry nothing: LF, CR, NUL. */
function isFiller(c: number): boolean {
  return c === LF || c === 13 || c === 0;
}
