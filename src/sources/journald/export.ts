/**
 * Incremental parser of the journal export format (systemd's "Journal Export
 * Format", what systemd-journal-upload streams): entries are fields separated
 * by an empty line; a text field is `NAME=value\n`, a binary-safe one is
 * `NAME\n` + little-endian u64 size + bytes + `\n`.
 *
 * Design note: uploads are one long chunked request (a whole journal), so the
 * parser takes the body chunk by chunk and keeps only the unfinished field.
 * Memory is bounded by the limits, never by what a sender declares: a value
 * over the field limit is skipped (or cut, with oversize_action: truncate)
 * while it streams past, an entry over the entry limit stops collecting
 * fields, and a declared size beyond any real journal field (or a field name
 * that is not one) means the stream is not export format: ExportFormatError.
 */
import type { JournalEntry } from '../../record/normalize/journald.ts';

export class ExportFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportFormatError';
  }
}

export interface ExportLimits {
  /** Bytes of one field value. */
  maxFieldBytes: number;
  /** Bytes of one entry (names and values). */
  maxEntryBytes: number;
  maxFields: number;
  /** reject: an entry with a longer field is refused; truncate: the value is cut and the entry marked. */
  oversize: 'reject' | 'truncate';
}

export interface ParsedEntry {
  fields: JournalEntry;
  /** Bytes of names and values kept. */
  bytes: number;
  truncated: boolean;
  /** Why the entry cannot be stored (a rejection reason), or null. */
  refused: 'line_too_long' | 'too_many_fields' | null;
}

/** journald's own bound on one field (DATA_SIZE_MAX); a larger declared size is not a journal. */
const MAX_DECLARED_SIZE = 768 * 1024 * 1024;
/** Field names: what journald accepts (upper case, digits, underscore, at most 64). */
const FIELD_NAME = /^[A-Z_][A-Z0-9_]{0,63}$/;
const MAX_NAME_BYTES = 64;
const NEWLINE = 0x0a;
const EQUALS = 0x3d;

type State = 'line' | 'textSkip' | 'binSize' | 'binData' | 'binEnd';

export class JournalExportParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private state: State = 'line';
  private readonly limits: ExportLimits;
  // The field being read.
  private name = '';
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private valueBytes = 0;
  private keepLimit = 0;
  private remaining = 0;
  // The entry being read.
  private fields: JournalEntry = {};
  private fieldCount = 0;
  private entryBytes = 0;
  private truncated = false;
  private refused: ParsedEntry['refused'] = null;
  /** Bytes consumed so far, for error messages that say where. */
  private offset = 0;

  constructor(limits: ExportLimits) {
    this.limits = limits;
  }

  /** Feeds a chunk; returns the entries it completed. Throws ExportFormatError. */
  push(chunk: Buffer): ParsedEntry[] {
    const rest = this.buf.length - this.pos;
    this.buf = rest > 0 ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.offset += this.pos;
    this.pos = 0;
    const out: ParsedEntry[] = [];
    while (this.step(out));
    return out;
  }

  /** The body ended: returns the last entry if it ended at a field boundary, else throws. */
  end(): ParsedEntry[] {
    const pending = this.buf.length - this.pos;
    if (this.state !== 'line' || pending > 0) {
      throw this.error(`the upload ended inside a field${this.name ? ` (${this.name})` : ''}, ${pending} bytes of it unread`);
    }
    const out: ParsedEntry[] = [];
    this.finishEntry(out);
    return out;
  }

  /** One step of the state machine; false when it needs more input. */
  private step(out: ParsedEntry[]): boolean {
    const buf = this.buf;
    switch (this.state) {
      case 'line': {
        const nl = buf.indexOf(NEWLINE, this.pos);
        if (nl === -1) return this.partialLine();
        const start = this.pos;
        this.pos = nl + 1;
        if (nl === start) {
          this.finishEntry(out);
          return true;
        }
        // Search this line only: a binary field's name line has no "=".
        const eq = buf.subarray(start, nl).indexOf(EQUALS);
        if (eq !== -1) {
          this.beginField(buf.toString('latin1', start, start + eq));
          this.addValue(buf.subarray(start + eq + 1, nl));
          this.endField(false);
        } else {
          this.beginField(buf.toString('latin1', start, nl));
          this.state = 'binSize';
        }
        return true;
      }
      case 'textSkip': {
        const nl = buf.indexOf(NEWLINE, this.pos);
        this.addValue(buf.subarray(this.pos, nl === -1 ? buf.length : nl));
        if (nl === -1) {
          this.pos = buf.length;
          return false;
        }
        this.pos = nl + 1;
        this.endField(false);
        this.state = 'line';
        return true;
      }
      case 'binSize': {
        if (buf.length - this.pos < 8) return false;
        const size = buf.readBigUInt64LE(this.pos);
        if (size > BigInt(MAX_DECLARED_SIZE)) {
          throw this.error(`binary field ${this.name} declares ${size} bytes, more than any journal field (${MAX_DECLARED_SIZE})`);
        }
        this.pos += 8;
        this.remaining = Number(size);
        this.state = 'binData';
        return true;
      }
      case 'binData': {
        const n = Math.min(this.remaining, buf.length - this.pos);
        this.addValue(buf.subarray(this.pos, this.pos + n));
        this.pos += n;
        this.remaining -= n;
        if (this.remaining > 0) return false;
        this.state = 'binEnd';
        return true;
      }
      case 'binEnd': {
        if (this.pos >= buf.length) return false;
        if (buf[this.pos] !== NEWLINE) throw this.error(`binary field ${this.name} is not followed by a newline`);
        this.pos++;
        this.endField(true);
        this.state = 'line';
        return true;
      }
    }
  }

  /** A line without its newline yet: a text field longer than the buffer, or garbage. */
  private partialLine(): boolean {
    const buf = this.buf;
    const eq = buf.indexOf(EQUALS, this.pos);
    const nameLength = (eq === -1 ? buf.length : eq) - this.pos;
    if (nameLength > MAX_NAME_BYTES) {
      throw this.error(`expected a field name (at most ${MAX_NAME_BYTES} bytes) followed by "=" or a newline`);
    }
    // A long text value streams through textSkip instead of waiting whole in the buffer.
    if (eq !== -1 && buf.length - eq > this.limits.maxFieldBytes) {
      this.beginField(buf.toString('latin1', this.pos, eq));
      this.pos = eq + 1;
      this.state = 'textSkip';
      return true;
    }
    return false;
  }

  private beginField(name: string): void {
    if (!FIELD_NAME.test(name)) {
      throw this.error(`${JSON.stringify(name.length > 80 ? name.slice(0, 80) + '…' : name)} is not a journal field name`);
    }
    this.name = name;
    this.kept = [];
    this.keptBytes = 0;
    this.valueBytes = 0;
    this.keepLimit = this.refused ? 0 : Math.min(this.limits.maxFieldBytes, this.limits.maxEntryBytes);
  }

  /** Keeps what fits the limits of a value arriving in pieces; the rest is only counted. */
  private addValue(piece: Buffer): void {
    const before = this.valueBytes;
    this.valueBytes += piece.length;
    if (before <= this.limits.maxFieldBytes && this.valueBytes > this.limits.maxFieldBytes && !this.refused) {
      if (this.limits.oversize === 'reject') this.refused = 'line_too_long';
      else this.truncated = true;
    }
    const room = this.keepLimit - this.keptBytes;
    if (room > 0) {
      const part = piece.length <= room ? piece : piece.subarray(0, room);
      // Copy: the chunk a value points into is released as parsing moves on.
      this.kept.push(Buffer.from(part));
      this.keptBytes += part.length;
    }
  }

  private endField(binary: boolean): void {
    const name = this.name;
    this.name = '';
    if (++this.fieldCount > this.limits.maxFields && !this.refused) this.refused = 'too_many_fields';
    this.entryBytes += name.length + this.keptBytes;
    if (this.entryBytes > this.limits.maxEntryBytes && !this.refused) this.refused = 'line_too_long';
    if (this.refused) return; // nothing more of a refused entry is kept
    const raw = this.kept.length === 1 ? this.kept[0]! : Buffer.concat(this.kept);
    const value = binary ? raw : raw.toString('utf8');
    const existing = this.fields[name];
    if (existing === undefined) {
      this.fields[name] = value;
    } else {
      // A field repeated within one entry (journald allows it): all values, as text.
      const text = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
      const list: string[] = Array.isArray(existing) ? (existing as string[]) : [text(existing)];
      list.push(text(value));
      this.fields[name] = list;
    }
  }

  private finishEntry(out: ParsedEntry[]): void {
    if (this.fieldCount > 0) {
      out.push({ fields: this.refused ? {} : this.fields, bytes: this.entryBytes, truncated: this.truncated, refused: this.refused });
    }
    this.fields = {};
    this.fieldCount = 0;
    this.entryBytes = 0;
    this.truncated = false;
    this.refused = null;
  }

  private error(what: string): ExportFormatError {
    return new ExportFormatError(`not journal export format at byte ${this.offset + this.pos}: ${what}`);
  }
}
