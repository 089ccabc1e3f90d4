/**
 * Multiline joining: a line matching the start pattern begins a record, the
 * lines after it (a stack trace, a wrapped message) belong to it. A record
 * ends at the next start line, after maxLines lines, or when no line came
 * for the timeout; past maxBytes its text is cut (marked truncated) while
 * its lines are still consumed. A record's end is its last line's end, so a
 * position saved after it never covers a line still waiting here.
 */
import type { Line } from './lines.ts';

export interface MultilineOptions {
  start: RegExp;
  maxLines: number;
  maxBytes: number;
  timeoutMs: number;
}

interface Pending {
  parts: string[];
  bytes: number;
  end: number;
  truncated: boolean;
  at: number;
}

export class MultilineJoiner {
  private readonly opts: MultilineOptions;
  private pending: Pending | null = null;

  constructor(opts: MultilineOptions) {
    this.opts = opts;
  }

  /** Adds a line; returns the records it completes. */
  push(line: Line, now = Date.now()): Line[] {
    const p = this.pending;
    if (p && !this.opts.start.test(line.text) && p.parts.length < this.opts.maxLines) {
      const bytes = Buffer.byteLength(line.text) + 1;
      if (p.bytes + bytes > this.opts.maxBytes) p.truncated = true;
      else {
        p.parts.push(line.text);
        p.bytes += bytes;
      }
      p.truncated ||= line.truncated;
      p.end = line.end;
      p.at = now;
      return [];
    }
    const done = this.flush();
    this.pending = { parts: [line.text], bytes: Buffer.byteLength(line.text), end: line.end, truncated: line.truncated, at: now };
    return done ? [done] : [];
  }

  /** The waiting record if no line came for the timeout. */
  flushIdle(now = Date.now()): Line | null {
    return this.pending && now - this.pending.at >= this.opts.timeoutMs ? this.flush() : null;
  }

  flush(): Line | null {
    const p = this.pending;
    this.pending = null;
    return p ? { text: p.parts.join('\n'), end: p.end, truncated: p.truncated } : null;
  }

  get waiting(): boolean {
    return this.pending !== null;
  }

  /** Forgets the waiting record (its file was truncated). */
  reset(): void {
    this.pending = null;
  }
}
