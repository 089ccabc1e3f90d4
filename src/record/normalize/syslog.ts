/**
 * Syslog message (RFC 3164 or RFC 5424, already parsed) → LogRecord (DESIGN.md table).
 */
import type { Attrs, JsonValue, LogRecord, Os } from '../record.ts';
import { newRecord } from '../record.ts';

export const FACILITY_NAMES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'ntp', 'security', 'console', 'solaris-cron', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5',
  'local6', 'local7',
] as const;

export interface SyslogMessage {
  /** PRI value: facility * 8 + severity. */
  pri: number;
  /** Header timestamp as ns, when the header had one. */
  ts?: bigint;
  hostname?: string;
  /** RFC 5424 APP-NAME, or the RFC 3164 TAG. */
  appName?: string;
  procId?: string;
  msgId?: string;
  /** RFC 5424 structured data: SD-ID → params (a repeated param name keeps every value). */
  structuredData?: Record<string, Record<string, string | string[]>>;
  message: string;
  /** 3164 or 5424: which grammar parsed it. */
  protocol?: 'rfc3164' | 'rfc5424';
  raw?: string;
  /** Why the text did not fully parse; what did not parse is kept in `message`. */
  parseError?: string;
}

/** user and local0..7 carry applications' logs; the others are the system's own facilities. */
export function syslogFacilityType(facility: number): 'system' | 'application' {
  return facility === 1 || (facility >= 16 && facility <= 23) ? 'application' : 'system';
}

export function normalizeSyslog(
  msg: SyslogMessage,
  nowNs: bigint,
  options: { os?: Os; keepRaw?: boolean } = {},
): LogRecord {
  const facility = msg.pri >> 3;
  const attrs: Attrs = { facility: FACILITY_NAMES[facility] ?? String(facility) };
  if (msg.procId) attrs.procid = msg.procId;
  if (msg.msgId) attrs.msgid = msg.msgId;
  if (msg.structuredData && Object.keys(msg.structuredData).length > 0) {
    attrs.sd = msg.structuredData as Record<string, JsonValue>;
  }
  if (msg.parseError) attrs.parse_error = msg.parseError;
  return newRecord(
    {
      ts: msg.ts ?? nowNs,
      os: options.os ?? 'other',
      host: msg.hostname ?? '',
      unit: msg.appName ?? '',
      severity: msg.pri & 7,
      type: syslogFacilityType(facility),
      message: msg.message,
      attrs,
      raw: options.keepRaw ? (msg.raw ?? null) : null,
    },
    nowNs,
  );
}
