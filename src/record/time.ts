/**
 * Timestamp parsing for ingest: RFC 3339 (any fraction up to ns) or epoch
 * numbers whose unit is told by their magnitude (s, ms, us, ns).
 */

const NS_PER_MS = 1_000_000n;

/** Current time in ns. Date.now() has ms resolution; hrtime adds the rest monotonically. */
const originNs = BigInt(Date.now()) * NS_PER_MS - process.hrtime.bigint();
export function nowNs(): bigint {
  return originNs + process.hrtime.bigint();
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9})\d*)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/** Parses RFC 3339 / ISO 8601 date-time text into ns since epoch; undefined when it is not one. */
export function parseRfc3339(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  let ms = Date.UTC(Number(y), month - 1, day, hour, minute, Math.min(second, 59));
  if (Number.isNaN(ms)) return undefined;
  // Date.UTC silently rolls over 31 February into March; refuse that.
  if (new Date(ms).getUTCDate() !== day) return undefined;
  if (!z && sign) {
    const offsetMin = Number(oh) * 60 + Number(om);
    ms -= (sign === '+' ? 1 : -1) * offsetMin * 60_000;
  }
  const fracNs = frac ? BigInt(frac.padEnd(9, '0')) : 0n;
  return BigInt(ms) * NS_PER_MS + fracNs;
}

/** Epoch number in s, ms, us or ns, told apart by magnitude. */
export function epochToNs(value: number | bigint): bigint | undefined {
  if (typeof value === 'bigint') return scaleEpochInteger(value);
  if (!Number.isFinite(value)) return undefined;
  if (Number.isInteger(value) && Math.abs(value) > Number.MAX_SAFE_INTEGER) {
    // Large ns values lose precision as float64; the caller should pass text or bigint.
    return scaleEpochInteger(BigInt(value));
  }
  const abs = Math.abs(value);
  if (abs < 1e11) return BigInt(Math.round(value * 1e6)) * 1000n; // seconds, keep us precision
  if (abs < 1e14) return BigInt(Math.round(value * 1e3)) * 1000n; // milliseconds
  if (abs < 1e17) return BigInt(Math.round(value)) * 1000n; // microseconds
  return BigInt(Math.round(value)); // nanoseconds
}

function scaleEpochInteger(value: bigint): bigint {
  const abs = value < 0n ? -value : value;
  if (abs < 100_000_000_000n) return value * 1_000_000_000n;
  if (abs < 100_000_000_000_000n) return value * 1_000_000n;
  if (abs < 100_000_000_000_000_000n) return value * 1000n;
  return value;
}

const INTEGER_TEXT = /^-?\d{1,20}$/;
const DECIMAL_TEXT = /^-?\d+\.\d+$/;

/** Parses a timestamp from JSON input: RFC 3339 text, epoch number, or epoch number as text. */
export function parseTimestamp(value: unknown): bigint | undefined {
  if (typeof value === 'number' || typeof value === 'bigint') return epochToNs(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (INTEGER_TEXT.test(text)) return scaleEpochInteger(BigInt(text));
  if (DECIMAL_TEXT.test(text)) return epochToNs(Number(text));
  return parseRfc3339(text);
}

/** Formats ns since epoch as RFC 3339 with 9 fraction digits (UTC). */
export function formatRfc3339Nano(ns: bigint): string {
  const ms = ns / NS_PER_MS;
  let frac = ns % 1_000_000_000n;
  if (frac < 0n) frac += 1_000_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2024-01-02T03:04:05.678Z
  return `${iso.slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
}

/** UTC day (YYYY-MM-DD) of a ns timestamp: the partition key of segments. */
export function dayOf(ns: bigint): string {
  return new Date(Number(ns / NS_PER_MS)).toISOString().slice(0, 10);
}
