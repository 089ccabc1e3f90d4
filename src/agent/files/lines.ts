/**
 * Splits a file's bytes into lines, keeping the byte offset where each ends,
 * so a position saved after a line points exactly past it.
 *
 * Design note: lines are found on the bytes (0x0A; in UTF-16LE the code unit
 * 0x000A at an even offset), never on decoded text, so offsets stay exact in
 * every encoding, and each complete line is decoded on its own (Buffer's
 * decoders: the same results as TextDecoder, with U+FFFD for invalid bytes,
 * and faster on short slices). A line longer
 * than maxBytes is never held whole: its first maxBytes are kept (truncate)
 * or nothing (drop) while the rest streams past until its newline. A UTF-8 or
 * UTF-16LE byte order mark at offset 0 is skipped; a trailing \r is dropped.
 */

export type Encoding = 'utf8' | 'utf16le' | 'latin1';

export interface Line {
  text: string;
  /** File offset just past the line's newline. */
  end: number;
  truncated: boolean;
}

export interface SplitterOptions {
  encoding: Encoding;
  maxBytes: number;
  oversize: 'truncate' | 'drop';
  /** A line over maxBytes was dropped (oversize drop) or cut (truncate). */
  onOversize?: (action: 'truncate' | 'drop') => void;
}

export class LineSplitter {
  private readonly opts: SplitterOptions;
  private readonly unit: number;
  /** Bytes of the line being read (at most maxBytes). */
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** The line being read is over maxBytes: its remaining bytes are skipped. */
  private oversized = false;
  /** A UTF-16 code unit split between two chunks. */
  private carry: Buffer | null = null;

  constructor(opts: SplitterOptions) {
    this.opts = opts;
    this.unit = opts.encoding === 'utf16le' ? 2 : 1;
  }

  /** Bytes held for an unfinished line. */
  get pendingBytes(): number {
    return this.partBytes;
  }

  /** Forgets an unfinished line (the file was truncated). */
  reset(): void {
    this.clearLine();
    this.carry = null;
  }

  private clearLine(): void {
    this.parts = [];
    this.partBytes = 0;
    this.oversized = false;
  }

  /** Feeds the bytes read at file offset `offset`; returns the lines they complete. */
  push(chunk: Buffer, offset: number): Line[] {
    if (this.carry) {
      chunk = Buffer.concat([this.carry, chunk]);
      offset -= this.carry.length;
      this.carry = null;
    }
    let start = 0;
    if (offset === 0) {
      // A byte order mark split over two reads: wait for the rest.
      const bom = BOMS[this.opts.encoding];
      if (bom && chunk.length < bom.length && bom.subarray(0, chunk.length).equals(chunk)) {
        this.carry = Buffer.from(chunk);
        return [];
      }
      start = bomLength(chunk, this.opts.encoding);
    }
    if (this.unit === 2 && (chunk.length - start) % 2 === 1) {
      this.carry = Buffer.from(chunk.subarray(chunk.length - 1));
      chunk = chunk.subarray(0, chunk.length - 1);
    }
    const lines: Line[] = [];
    const { encoding, maxBytes } = this.opts;
    for (;;) {
      const nl = this.findNewline(chunk, start);
      if (nl < 0) {
        this.hold(chunk.subarray(start));
        return lines;
      }
      const end = nl + this.unit;
      if (this.partBytes === 0 && !this.oversized && nl - start <= maxBytes) {
        // The common case: the whole line is in this chunk.
        lines.push({ text: stripCr(chunk.toString(encoding, start, nl)), end: offset + end, truncated: false });
      } else {
        this.hold(chunk.subarray(start, nl));
        const line = this.take();
        if (line) lines.push({ ...line, end: offset + end });
      }
      start = end;
    }
  }

  /** The unfinished last line (a file that ends without a newline and will not grow); null if none. */
  flush(end: number): Line | null {
    const line = this.partBytes > 0 || this.oversized ? this.take() : null;
    return line ? { ...line, end } : null;
  }

  private findNewline(chunk: Buffer, from: number): number {
    if (this.unit === 1) return chunk.indexOf(0x0a, from);
    for (let i = chunk.indexOf(0x0a, from); i >= 0; i = chunk.indexOf(0x0a, i + 1)) {
      if ((i - from) % 2 === 0 && chunk[i + 1] === 0) return i;
    }
    return -1;
  }

  private hold(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const room = this.opts.maxBytes - this.partBytes;
    if (bytes.length > room) {
      this.oversized = true;
      if (this.opts.oversize === 'drop' || room <= 0) return;
      bytes = bytes.subarray(0, room - (room % this.unit));
    }
    this.parts.push(Buffer.from(bytes));
    this.partBytes += bytes.length;
  }

  /** The finished line's text; null when it was dropped for its size. */
  private take(): Omit<Line, 'end'> | null {
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partBytes);
    const oversized = this.oversized;
    this.clearLine();
    if (oversized) {
      this.opts.onOversize?.(this.opts.oversize);
      if (this.opts.oversize === 'drop') return null;
    }
    return { text: stripCr(bytes.toString(this.opts.encoding)), truncated: oversized };
  }
}

function stripCr(text: string): string {
  return text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text;
}

const BOMS: Record<Encoding, Buffer | null> = { utf8: Buffer.from([0xef, 0xbb, 0xbf]), utf16le: Buffer.from([0xff, 0xfe]), latin1: null };

function bomLength(chunk: Buffer, encoding: Encoding): number {
  const bom = BOMS[encoding];
  return bom && chunk.length >= bom.length && chunk.subarray(0, bom.length).equals(bom) ? bom.length : 0;
}
