/**
 * Timestamps as log formats write them, to ns since epoch. `auto` tries, in
 * order: RFC 3339 and epoch numbers (record/time.ts), the Common Log Format
 * (`10/Oct/2000:13:55:36 -0700`), `2024/01/02 15:04:05` (nginx error log),
 * `2024-01-02 15:04:05,123` (Python, Java), Apache's error-log ctime
 * (`Wed Oct 11 14:32:52.123456 2000`) and the BSD syslog stamp
 * (`Oct 11 22:14:15`, which has no year: the latest year that does not put
 * it more than a week after the receipt time). Text without a zone is UTC.
 */
import { parseTimestamp } from '../../record/time.ts';

export const TIMESTAMP_FORMATS = ['auto', 'rfc3339', 'epoch', 'clf', 'ymd', 'ctime', 'syslog'] as const;
export type TimestampFormat = (typeof TIMESTAMP_FORMATS)[number];

const WEEK_NS = 7n * 86_400_000_000_000n;
const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };

const CLF = /^(\d{1,2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? ([+-])(\d{2})(\d{2})$/;
const YMD = /^(\d{4})[-/](\d{2})[-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?$/;
const CTIME = /^(?:[A-Za-z]{3} )?([A-Za-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? (\d{4})$/;
const SYSLOG = /^([A-Za-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

function build(year: number, month: number, day: number, h: number, mi: number, s: number, frac: string | undefined, offsetMin = 0): bigint | undefined {
  if (month < 0 || month > 11 || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const ms = Date.UTC(year, month, day, h, mi, Math.min(s, 59)) - offsetMin * 60_000;
  if (!Number.isFinite(ms) || new Date(ms + offsetMin * 60_000).getUTCDate() !== day) return undefined;
  return BigInt(ms) * 1_000_000n + (frac ? BigInt(frac.padEnd(9, '0')) : 0n);
}

function month(name: string): number {
  return MONTHS[name.toLowerCase()] ?? -1;
}

function clf(text: string): bigint | undefined {
  const m = CLF.exec(text);
  if (!m) return undefined;
  const offset = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  return build(Number(m[3]), month(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]), m[7], offset);
}

function ymd(text: string): bigint | undefined {
  const m = YMD.exec(text);
  return m ? build(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), m[7]) : undefined;
}

function ctime(text: string): bigint | undefined {
  const m = CTIME.exec(text);
  return m ? build(Number(m[7]), month(m[1]!), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), m[6]) : undefined;
}

function syslog(text: string, nearNs: bigint): bigint | undefined {
  const m = SYSLOG.exec(text);
  if (!m) return undefined;
  const year = new Date(Number(nearNs / 1_000_000n)).getUTCFullYear();
  // The latest year that does not put the stamp more than a week after the receipt
  // (a December line read in January is last year's).
  for (const y of [year + 1, year, year - 1]) {
    const ns = build(y, month(m[1]!), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), m[6]);
    if (ns !== undefined && ns <= nearNs + WEEK_NS) return ns;
  }
  return undefined;
}

/** Parses a timestamp value; undefined when it is not one in that format. nearNs anchors yearless stamps. */
export function parseTimestampAs(value: unknown, format: TimestampFormat, nearNs: bigint): bigint | undefined {
  if (format === 'rfc3339' || format === 'epoch') {
    const isNumber = typeof value === 'number' || (typeof value === 'string' && /^\s*-?\d+(?:\.\d+)?\s*$/.test(value));
    return isNumber === (format === 'epoch') ? parseTimestamp(value) : undefined;
  }
  if (format === 'auto') {
    const ns = parseTimestamp(value);
    if (ns !== undefined || typeof value !== 'string') return ns;
  }
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const text = value.trim();
  switch (format) {
    case 'clf':
      return clf(text);
    case 'ymd':
      return ymd(text);
    case 'ctime':
      return ctime(text);
    case 'syslog':
      return syslog(text, nearNs);
    default:
      return clf(text) ?? ymd(text) ?? ctime(text) ?? syslog(text, nearNs);
  }
}
