/**
 * Trigram bloom filters: a skip index for substring search.
 *
 * Design note: every head keeps, per (tenant, day), a bloom filter of the
 * lower-cased ASCII trigrams of its messages, filled as rows are appended;
 * compaction writes it beside the segment (`seg_*.tri`), merges OR them.
 * A message containing a needle contains every trigram of the needle, so a
 * segment whose filter lacks one of them cannot match and is not read: no
 * false negatives, only false positives (a segment read for nothing).
 * Only trigrams of ASCII characters are used, on both sides, so the index
 * agrees with DuckDB's lower() exactly; a needle with fewer than three ASCII
 * characters in a row simply prunes nothing.
 *
 * The filter has a fixed size (2^18 bits, 32 KiB) and one probe: the number
 * of distinct trigrams in log text levels off (tens of thousands per 250k lines
 * of Loghub text), so one size fits every segment and filters of merged
 * segments are the bitwise OR of their inputs. With ~35k trigrams a probe
 * answers "maybe" for an absent trigram 1 time in 8, but a needle has several
 * trigrams and one clear "no" prunes; one probe made appends 3x cheaper than
 * three (the filter was 12% of the store thread's time with three).
 */
import type { Expr } from '../../query/ast.ts';

export const BLOOM_BITS = 1 << 18;
const BLOOM_BYTES = BLOOM_BITS >> 3;

function lowerAscii(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

export class TrigramBloom {
  readonly bits: Uint8Array;

  constructor(bits?: Uint8Array) {
    if (bits && bits.length !== BLOOM_BYTES) throw new Error(`trigram filter must be ${BLOOM_BYTES} bytes, got ${bits.length}`);
    this.bits = bits ?? new Uint8Array(BLOOM_BYTES);
  }


  /** Adds every ASCII trigram of `text`, lower-cased. */
  add(text: string): void {
    let c0 = -1;
    let c1 = -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 127) {
        c0 = c1 = -1;
        continue;
      }
      const c2 = lowerAscii(c);
      if (c0 >= 0) {
        const bit = slot((c0 << 14) | (c1 << 7) | c2);
        this.bits[bit >> 3]! |= 1 << (bit & 7);
      }
      c0 = c1;
      c1 = c2;
    }
  }

  /** False only when no text added could contain `needle` (case-insensitively). */
  mayContain(needle: string): boolean {
    let c0 = -1;
    let c1 = -1;
    for (let i = 0; i < needle.length; i++) {
      const c = needle.charCodeAt(i);
      if (c > 127) {
        c0 = c1 = -1;
        continue;
      }
      const c2 = lowerAscii(c);
      if (c0 >= 0) {
        const bit = slot((c0 << 14) | (c1 << 7) | c2);
        if ((this.bits[bit >> 3]! & (1 << (bit & 7))) === 0) return false;
      }
      c0 = c1;
      c1 = c2;
    }
    return true;
  }

  or(other: TrigramBloom): void {
    const a = this.bits;
    const b = other.bits;
    for (let i = 0; i < a.length; i++) a[i]! |= b[i]!;
  }
}

/** Fibonacci hashing of a 21-bit trigram key to one of 2^18 bits (the top bits of the product). */
function slot(key: number): number {
  return Math.imul(key, 0x9e3779b1) >>> (32 - 18);
}

/** Substring needles a node requires in `message` (for the skip index); undefined = none known. */
function textNeedle(expr: Expr): string | undefined {
  const e = expr as { type: string; value?: unknown; field?: { kind: string; name?: string } };
  // Words and phrases (any case sensitivity), and word prefixes, all require their text in the message.
  if ((e.type === 'text' || e.type === 'prefix') && typeof e.value === 'string') return e.value;
  if (e.type === 'eq' && e.field?.kind === 'core' && e.field.name === 'message' && typeof e.value === 'string') return e.value;
  return undefined;
}

/**
 * Whether a source whose filter is `bloom` may hold a record matching `expr`.
 * Conservative: anything it does not understand may match.
 */
export function mayMatch(expr: Expr, bloom: TrigramBloom): boolean {
  switch (expr.type) {
    case 'and':
      return expr.items.every((e) => mayMatch(e, bloom));
    case 'or':
      return expr.items.some((e) => mayMatch(e, bloom));
    default: {
      const needle = textNeedle(expr);
      return needle === undefined || bloom.mayContain(needle);
    }
  }
}

/** Whether the index can prune anything for this query (else skip loading filters). */
export function usesTrigrams(expr: Expr): boolean {
  switch (expr.type) {
    case 'and':
      return expr.items.some(usesTrigrams);
    case 'or':
      return expr.items.every(usesTrigrams);
    default: {
      const needle = textNeedle(expr);
      return needle !== undefined && /[\x00-\x7f]{3}/.test(needle);
    }
  }
}
