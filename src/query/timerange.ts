/** Time bounds in queries: RFC 3339, epoch (s/ms/us/ns by magnitude), `now`, `now-1h`, `now+5m`. */
import { parseDurationMs } from '../util/duration.ts';
import { nowNs as currentNs, parseRfc3339, parseTimestamp } from '../record/time.ts';

const RELATIVE = /^now(?:\s*([+-])\s*(\S+))?$/i;

export function parseTimeBound(text: string, nowNs: bigint = currentNs()): bigint | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const rel = RELATIVE.exec(t);
  if (rel) {
    if (!rel[1]) return nowNs;
    const ms = parseDurationMs(rel[2]!);
    if (ms === undefined) return undefined;
    const delta = BigInt(Math.round(ms)) * 1_000_000n;
    return rel[1] === '-' ? nowNs - delta : nowNs + delta;
  }
  // A bare duration ("1h") in a `from` means that long ago.
  const ago = /^\d+(?:\.\d+)?[a-z]+$/i.test(t) ? parseDurationMs(t) : undefined;
  if (ago !== undefined) return nowNs - BigInt(Math.round(ago)) * 1_000_000n;
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) return parseRfc3339(`${t}T00:00:00Z`);
  return parseTimestamp(t);
}

export interface TimeRange {
  fromNs: bigint;
  toNs: bigint;
}

export class TimeRangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeRangeError';
  }
}

/** Resolves `from`/`to` parameters; missing `to` is now, missing `from` is `to - defaultRangeMs`. */
export function resolveTimeRange(
  from: string | undefined,
  to: string | undefined,
  defaultRangeMs: number,
  nowNs: bigint = currentNs(),
): TimeRange {
  const toNs = to ? parseTimeBound(to, nowNs) : nowNs;
  if (toNs === undefined) throw new TimeRangeError(`"to" is not a time: ${JSON.stringify(to)} (use RFC 3339, epoch ms, or now-1h)`);
  const fromNs = from ? parseTimeBound(from, nowNs) : toNs - BigInt(defaultRangeMs) * 1_000_000n;
  if (fromNs === undefined) {
    throw new TimeRangeError(`"from" is not a time: ${JSON.stringify(from)} (use RFC 3339, epoch ms, or now-1h)`);
  }
  if (fromNs > toNs) throw new TimeRangeError('"from" is after "to"');
  return { fromNs, toNs };
}
