/**
 * Time in the UI: ranges as the URL holds them (`now-1h`, RFC 3339, epoch ms)
 * resolved to absolute bounds, and timestamps shown in the viewer's zone or
 * in UTC. The API takes bounds as epoch nanoseconds, which keeps the
 * histogram, the results and their pages on exactly the same range.
 */

export type Zone = 'local' | 'utc';

export const DEFAULT_FROM = 'now-1h';
export const DEFAULT_TO = 'now';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export const RELATIVE_PRESETS: { from: string; label: string }[] = [
  { from: 'now-5m', label: 'Last 5 minutes' },
  { from: 'now-15m', label: 'Last 15 minutes' },
  { from: 'now-1h', label: 'Last hour' },
  { from: 'now-6h', label: 'Last 6 hours' },
  { from: 'now-24h', label: 'Last 24 hours' },
  { from: 'now-7d', label: 'Last 7 days' },
  { from: 'now-30d', label: 'Last 30 days' },
];

/** Milliseconds of a duration such as 15m, 1h, 7d; undefined when it is not one. */
export function durationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

/** A bound as typed or kept in the URL → epoch ms, or undefined when it is not a time. */
export function parseTimeInput(text: string, nowMs: number): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const rel = /^now(?:\s*([+-])\s*(\S+))?$/i.exec(t);
  if (rel) {
    if (!rel[1]) return nowMs;
    const ms = durationMs(rel[2]!);
    if (ms === undefined) return undefined;
    return rel[1] === '-' ? nowMs - ms : nowMs + ms;
  }
  if (/^\d{10,16}$/.test(t)) {
    const n = Number(t);
    return t.length <= 10 ? n * 1000 : n;
  }
  // Date.parse reads "YYYY-MM-DDTHH:MM" without a zone as local time, which is what a person typing means.
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    const ms = Date.parse(t.length === 10 ? `${t}T00:00` : t.replace(' ', 'T'));
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

export interface ResolvedRange {
  fromMs: number;
  toMs: number;
}

/** Resolves the URL's range; an invalid or inverted one falls back to the default and says why. */
export function resolveRange(from: string, to: string, nowMs: number): ResolvedRange & { error?: string } {
  const toMs = parseTimeInput(to || DEFAULT_TO, nowMs);
  const fromMs = parseTimeInput(from || DEFAULT_FROM, nowMs);
  const fallback = { fromMs: nowMs - 3_600_000, toMs: nowMs };
  if (toMs === undefined) return { ...fallback, error: `"${to}" is not a time` };
  if (fromMs === undefined) return { ...fallback, error: `"${from}" is not a time` };
  if (fromMs > toMs) return { ...fallback, error: 'the range starts after it ends' };
  return { fromMs, toMs };
}

/** Epoch ms → the nanosecond text the API takes as a bound. */
export function msToNs(ms: number): string {
  return (BigInt(Math.floor(ms)) * 1_000_000n).toString();
}

export function isRelative(bound: string): boolean {
  return bound === '' || /^now/i.test(bound.trim());
}

export function describeRange(from: string, to: string, zone: Zone): string {
  const f = from || DEFAULT_FROM;
  const t = to || DEFAULT_TO;
  if (/^now$/i.test(t)) {
    const preset = RELATIVE_PRESETS.find((p) => p.from === f);
    if (preset) return preset.label;
    const m = /^now-(\S+)$/i.exec(f);
    if (m) return `Last ${m[1]}`;
  }
  const show = (b: string) => {
    if (isRelative(b)) return b;
    const ms = parseTimeInput(b, Date.now());
    return ms === undefined ? b : formatMs(ms, zone, false);
  };
  return `${show(f)} → ${show(t)}`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Epoch ms as "YYYY-MM-DD HH:MM:SS(.mmm)" in the zone. */
export function formatMs(ms: number, zone: Zone, millis = true): string {
  const d = new Date(ms);
  const utc = zone === 'utc';
  const date = `${utc ? d.getUTCFullYear() : d.getFullYear()}-${pad((utc ? d.getUTCMonth() : d.getMonth()) + 1)}-${pad(utc ? d.getUTCDate() : d.getDate())}`;
  const time = `${pad(utc ? d.getUTCHours() : d.getHours())}:${pad(utc ? d.getUTCMinutes() : d.getMinutes())}:${pad(utc ? d.getUTCSeconds() : d.getSeconds())}`;
  return `${date} ${time}${millis ? `.${pad(utc ? d.getUTCMilliseconds() : d.getMilliseconds(), 3)}` : ''}`;
}

/**
 * A record's RFC 3339 nanosecond timestamp shown in the zone, keeping the
 * digits below the millisecond that a Date would lose.
 */
export function formatTs(ts: string, zone: Zone): string {
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) return ts;
  const fraction = /\.(\d+)/.exec(ts)?.[1] ?? '';
  const base = formatMs(ms, zone, false);
  const suffix = zone === 'utc' ? 'Z' : '';
  return fraction.length > 3 ? `${base}.${fraction.padEnd(9, '0')}${suffix}` : `${base}.${pad(new Date(ms).getUTCMilliseconds(), 3)}${suffix}`;
}

/** "HH:MM:SS.mmm" for dense lists (the date is in the title and the group headers). */
export function formatClock(ts: string, zone: Zone): string {
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) return ts;
  return formatMs(ms, zone).slice(11);
}

/** The viewer's zone name and offset, for labels: "Europe/Paris (UTC+01:00)". */
export function zoneLabel(zone: Zone, atMs: number): string {
  if (zone === 'utc') return 'UTC';
  const offset = -new Date(atMs).getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return `${name} (UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)})`;
}

/** "3s ago", "5m ago", "2h ago", "4d ago". */
export function ago(ms: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** Value for an <input type="datetime-local"> in the zone. */
export function toInputValue(ms: number, zone: Zone): string {
  return formatMs(ms, zone, false).replace(' ', 'T');
}

/** An <input type="datetime-local"> value read in the zone → RFC 3339 for the URL. */
export function fromInputValue(value: string, zone: Zone): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return undefined;
  const ms = Date.parse(zone === 'utc' ? `${value}Z` : value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** A step or window for people: 500ms, 30s, 5m, 1h, 2d. */
export function formatDuration(ms: number): string {
  const units: [number, string][] = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1000, 's']];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${ms}ms`;
}
