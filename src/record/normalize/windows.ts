/**
 * Windows Event Log → LogRecord (DESIGN.md table). Both the live collector
 * (wevtutil/PowerShell XML) and the .evtx parser produce a WindowsEvent first.
 */
import type { Attrs, JsonValue, LogRecord } from '../record.ts';
import { newRecord } from '../record.ts';
import { parseTimestamp } from '../time.ts';

export interface WindowsEvent {
  /** `System/TimeCreated/@SystemTime`, RFC 3339 text (100 ns precision) or ns. */
  systemTime: string | bigint;
  /** `System/Computer` */
  computer: string;
  /** `System/Provider/@Name` */
  provider: string;
  /** `System/Level`: 0 LogAlways, 1 Critical, 2 Error, 3 Warning, 4 Information, 5 Verbose. */
  level: number;
  /** `System/Channel` */
  channel: string;
  /** `System/EventID` */
  eventId: number;
  /** `System/EventRecordID` */
  recordId?: number | bigint;
  /** The rendered message, when the collector could render it. */
  message?: string;
  /** `EventData/Data` (named, or Data_0.. when unnamed) or `UserData`. */
  eventData?: Record<string, JsonValue>;
  /** Further `System` values worth keeping (Task, Opcode, Keywords, ProcessID, ThreadID, UserID, ActivityID, ...). */
  system?: Record<string, JsonValue>;
  /** The event's XML, kept as `raw` when configured. */
  xml?: string;
}

/** Level → syslog severity: 1→2 (crit), 2→3 (err), 3→4 (warning), 4/0→6 (info), 5→7 (debug). */
export function windowsLevelToSeverity(level: number): number {
  switch (level) {
    case 1:
      return 2;
    case 2:
      return 3;
    case 3:
      return 4;
    case 5:
      return 7;
    default:
      return 6;
  }
}

/** System and Security channels are the OS's own; everything else is an application's. */
export function windowsChannelType(channel: string): 'system' | 'application' {
  const c = channel.toLowerCase();
  return c === 'system' || c === 'security' ? 'system' : 'application';
}

export function normalizeWindowsEvent(event: WindowsEvent, nowNs: bigint, keepRaw = false): LogRecord {
  const ts = typeof event.systemTime === 'bigint' ? event.systemTime : parseTimestamp(event.systemTime);
  const attrs: Attrs = {
    EventID: event.eventId,
    Channel: event.channel,
  };
  if (event.recordId !== undefined) attrs.RecordID = Number(event.recordId);
  if (event.system) for (const [k, v] of Object.entries(event.system)) attrs[k] = v;
  if (event.eventData && Object.keys(event.eventData).length > 0) attrs.EventData = event.eventData;
  const message = event.message ?? fallbackMessage(event);
  return newRecord(
    {
      ts: ts ?? nowNs,
      os: 'windows',
      host: event.computer,
      unit: event.provider,
      severity: windowsLevelToSeverity(event.level),
      type: windowsChannelType(event.channel),
      message,
      correlation_id: typeof event.system?.ActivityID === 'string' ? event.system.ActivityID : null,
      attrs,
      raw: keepRaw ? (event.xml ?? null) : null,
    },
    nowNs,
  );
}

/** Without the provider's message table, say what we know: the event id and its data. */
function fallbackMessage(event: WindowsEvent): string {
  const data = event.eventData ? Object.entries(event.eventData) : [];
  const parts = data.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${event.provider} event ${event.eventId}${parts.length ? ': ' + parts.join(' ') : ''}`;
}
