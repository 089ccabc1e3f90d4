/**
 * journald entry → LogRecord (DESIGN.md table). Input is the entry's fields as
 * journalctl -o json / the export format carry them; binary values arrive as
 * byte arrays (json) or Buffers (export) and are decoded as UTF-8.
 */
import type { Attrs, LogRecord } from '../record.ts';
import { newRecord } from '../record.ts';
import { parseSeverity } from '../severity.ts';

export type JournalValue = string | Buffer | number[] | (string | number[] | null)[] | null;
export type JournalEntry = Record<string, JournalValue>;

/** Fields that become core fields (or are transport noise) rather than attrs. */
const MAPPED = new Set([
  '__REALTIME_TIMESTAMP',
  '_SOURCE_REALTIME_TIMESTAMP',
  '_HOSTNAME',
  'MESSAGE',
  'PRIORITY',
  '__CURSOR',
  '__MONOTONIC_TIMESTAMP',
  '__SEQNUM',
  '__SEQNUM_ID',
]);

export function journalText(value: JournalValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((v) => typeof v === 'number')) {
      return Buffer.from(value as number[]).toString('utf8');
    }
    // A field repeated in one entry: journalctl -o json gives an array; keep the first.
    const first = value[0];
    return first === undefined || first === null ? undefined : journalText(first as JournalValue);
  }
  return String(value);
}

/** `_SYSTEMD_UNIT`, else `SYSLOG_IDENTIFIER`, else `_EXE` (user units win inside user@.service). */
export function journalUnit(entry: JournalEntry): string {
  return (
    journalText(entry._SYSTEMD_USER_UNIT) ??
    journalText(entry._SYSTEMD_UNIT) ??
    journalText(entry.SYSLOG_IDENTIFIER) ??
    journalText(entry._EXE) ??
    ''
  );
}

/** Applications installed under /opt or /snap are applications; the rest is the system. */
export function journalType(entry: JournalEntry): 'system' | 'application' {
  const exe = journalText(entry._EXE) ?? '';
  return exe.startsWith('/opt/') || exe.startsWith('/snap/') ? 'application' : 'system';
}

export function normalizeJournalEntry(entry: JournalEntry, nowNs: bigint, keepRaw = false): LogRecord {
  const realtimeUs = journalText(entry._SOURCE_REALTIME_TIMESTAMP) ?? journalText(entry.__REALTIME_TIMESTAMP);
  const ts = realtimeUs && /^\d+$/.test(realtimeUs) ? BigInt(realtimeUs) * 1000n : nowNs;
  const attrs: Attrs = {};
  for (const [key, value] of Object.entries(entry)) {
    if (MAPPED.has(key)) continue;
    const text = journalText(value);
    if (text !== undefined) attrs[key] = text;
  }
  const severity = parseSeverity(journalText(entry.PRIORITY) ?? '') ?? 6;
  return newRecord(
    {
      ts,
      os: 'linux',
      host: journalText(entry._HOSTNAME) ?? '',
      unit: journalUnit(entry),
      severity,
      type: journalType(entry),
      message: journalText(entry.MESSAGE) ?? '',
      trace_id: journalText(entry.TRACE_ID) ?? null,
      span_id: journalText(entry.SPAN_ID) ?? null,
      attrs,
      raw: keepRaw ? JSON.stringify(entry, (_k, v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v)) : null,
    },
    nowNs,
  );
}
