/**
 * A JSON object (Cairn's HTTP API, and any shipper that posts JSON) → LogRecord.
 * Core fields by name (with the aliases shippers use); every other key becomes
 * an attr. `tenant` from the body is ignored: the tenant comes from credentials.
 */
import type { Attrs, JsonValue, LogRecord, Os, RecordType } from '../record.ts';
import { OS_VALUES, TYPE_VALUES } from '../record.ts';
import { parseSeverity } from '../severity.ts';
import { parseTimestamp } from '../time.ts';
import { MAX_ATTR_DEPTH, nestedDeeper, putOwn } from '../attrs.ts';

export interface JsonDefaults {
  tenant: string;
  nowNs: bigint;
  host?: string;
  unit?: string;
  service?: string;
  os?: Os;
  type?: RecordType;
  severity?: number;
  /**
   * The event time a transport carries beside the object (forward's EventTime):
   * it is the record's ts, and the object's own time keys stay in attrs.
   */
  eventTs?: bigint;
  /**
   * For shippers' records, which are not written for Cairn: a value that does
   * not parse (a `level` of 30, a `time` that is no timestamp, an unknown `os`)
   * stays in attrs under its key instead of refusing the record, and a record
   * without a message field gets its JSON text as the message.
   */
  lenient?: boolean;
}

export type JsonRecordResult = { record: LogRecord } | { error: string };

/**
 * Deepest nesting of objects and arrays an attr value may have. Storing a
 * record stringifies its attrs (recursively, with the rest of its commit):
 * a value thousands of levels deep would overflow the stack there and fail
 * every batch committed with it, whoever sent them.
 */

const OS_SET: ReadonlySet<string> = new Set(OS_VALUES);
const TYPE_SET: ReadonlySet<string> = new Set(TYPE_VALUES);

/** A record's `os` value, if it is one Cairn knows. */
export function osOf(value: unknown): Os | undefined {
  const text = asText(value)?.toLowerCase();
  return text && OS_SET.has(text) ? (text as Os) : undefined;
}

/** A record's `type` value, if it is one Cairn knows. */
export function typeOf(value: unknown): RecordType | undefined {
  const text = asText(value)?.toLowerCase();
  return text && TYPE_SET.has(text) ? (text as RecordType) : undefined;
}

export const ATTRS_DEPTH_ERROR = `attrs: a value is nested more than ${MAX_ATTR_DEPTH} levels deep`;
export const OS_ERROR = `os: must be one of ${OS_VALUES.join(', ')}`;
export const TYPE_ERROR = `type: must be one of ${TYPE_VALUES.join(', ')}`;

export function severityError(key: string, value: unknown): string {
  return `${key}: unknown severity ${JSON.stringify(value)} (use 0-7 or emerg, alert, crit, err, warning, notice, info, debug)`;
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export function recordFromJson(value: unknown, d: JsonDefaults): JsonRecordResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: 'a record must be a JSON object' };
  }
  const obj = value as Record<string, unknown>;
  let ts: bigint | undefined;
  let message: string | undefined;
  let severity: number | undefined;
  let os = d.os ?? 'other';
  let type = d.type ?? 'application';
  let host = d.host ?? '';
  let unit = d.unit ?? '';
  let service = d.service ?? '';
  let traceId: string | null = null;
  let spanId: string | null = null;
  let correlationId: string | null = null;
  let raw: string | null = null;
  const attrs: Attrs = {};

  for (const key in obj) {
    const v = obj[key];
    switch (key) {
      case 'ts':
      case 'timestamp':
      case 'time':
      case '@timestamp':
      case '_time': {
        if (ts !== undefined || d.eventTs !== undefined) {
          if (d.eventTs !== undefined) putOwn(attrs, key, v as JsonValue);
          break;
        }
        ts = parseTimestamp(v);
        if (ts === undefined) {
          if (d.lenient) {
            putOwn(attrs, key, v as JsonValue);
            break;
          }
          return { error: `${key}: not a timestamp (use RFC 3339 or epoch s/ms/us/ns): ${JSON.stringify(v)}` };
        }
        break;
      }
      case 'message':
      case 'msg':
      case 'log':
      case '_msg':
      case 'line': {
        if (message !== undefined) {
          putOwn(attrs, key, v as JsonValue);
          break;
        }
        const text = asText(v);
        if (text === undefined) {
          if (d.lenient) {
            putOwn(attrs, key, v as JsonValue);
            break;
          }
          return { error: `${key}: must be a string` };
        }
        message = text;
        break;
      }
      case 'severity':
      case 'level': {
        if (severity !== undefined) break;
        severity = parseSeverity(v);
        if (severity === undefined) {
          if (d.lenient) {
            putOwn(attrs, key, v as JsonValue);
            break;
          }
          return { error: severityError(key, v) };
        }
        break;
      }
      case 'os': {
        const known = osOf(v);
        if (known === undefined) {
          if (d.lenient) {
            putOwn(attrs, key, v as JsonValue);
            break;
          }
          return { error: OS_ERROR };
        }
        os = known;
        break;
      }
      case 'type': {
        const known = typeOf(v);
        if (known === undefined) {
          if (d.lenient) {
            putOwn(attrs, key, v as JsonValue);
            break;
          }
          return { error: TYPE_ERROR };
        }
        type = known;
        break;
      }
      case 'host':
      case 'hostname':
        host = asText(v) ?? host;
        break;
      case 'unit':
        unit = asText(v) ?? unit;
        break;
      case 'service':
        service = asText(v) ?? service;
        break;
      case 'trace_id':
        traceId = asText(v) ?? null;
        break;
      case 'span_id':
        spanId = asText(v) ?? null;
        break;
      case 'correlation_id':
        correlationId = asText(v) ?? null;
        break;
      case 'raw':
        raw = asText(v) ?? null;
        break;
      case 'attrs':
        if (typeof v !== 'object' || v === null || Array.isArray(v)) {
          if (d.lenient) {
            putOwn(attrs, key, v as JsonValue);
            break;
          }
          return { error: 'attrs: must be an object' };
        }
        for (const k in v as Attrs) putOwn(attrs, k, (v as Attrs)[k]!);
        break;
      case 'tenant':
      case 'observed_ts':
      case 'template_id':
      case 'id':
        // Set by the server, never by the sender.
        break;
      default:
        putOwn(attrs, key, v as JsonValue);
    }
  }
  if (nestedDeeper(attrs, MAX_ATTR_DEPTH + 1)) return { error: ATTRS_DEPTH_ERROR };
  if (message === undefined) {
    if (!d.lenient) return { error: 'missing "message" (or msg, log, line)' };
    message = JSON.stringify(obj);
  }
  return {
    record: {
      ts: ts ?? d.eventTs ?? d.nowNs,
      observed_ts: d.nowNs,
      tenant: d.tenant,
      os,
      host,
      unit,
      service,
      severity: severity ?? d.severity ?? 6,
      type,
      message,
      trace_id: traceId,
      span_id: spanId,
      correlation_id: correlationId,
      template_id: null,
      attrs,
      raw,
    },
  };
}
