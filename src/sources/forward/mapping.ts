/**
 * A Fluentd/Fluent Bit event (tag, time, record) → LogRecord.
 *
 * - journald-shaped records (Fluent Bit's systemd input: MESSAGE plus
 *   _SYSTEMD_UNIT/PRIORITY/... keys) go through normalizeJournalEntry, so they
 *   look exactly like records from Cairn's journald path.
 * - everything else goes through recordFromJson, leniently (shippers' records
 *   are not written for Cairn): log/message/msg → message, level/severity →
 *   severity, host/hostname → host; the event time wins over time keys in the
 *   record, which stay in attrs.
 * - Fluent Bit's kubernetes metadata stays in attrs.kubernetes and fills host
 *   (the node), unit (the container) and service (the app label) when the
 *   record does not name them.
 * - the tag becomes the unit (or service, or attrs.tag: `tag_field`) when the
 *   record does not say; when it did not become a field it is kept in attrs.tag.
 * msgpack-only values become JSON: bin → UTF-8 text, 64-bit integers beyond
 * 2^53 → decimal text, timestamps → RFC 3339.
 */
import type { JsonValue, LogRecord } from '../../record/record.ts';
import { recordFromJson, type JsonDefaults, type JsonRecordResult } from '../../record/normalize/json.ts';
import { normalizeJournalEntry, type JournalEntry } from '../../record/normalize/journald.ts';
import { formatRfc3339Nano } from '../../record/time.ts';
import { truncateUtf8 } from '../http/index.ts';
import { EventTime } from './msgpack.ts';

export type TagField = 'unit' | 'service' | 'attr';

export interface MappingContext {
  tenant: string;
  nowNs: bigint;
  tagField: TagField;
  keepRaw: boolean;
}

const JOURNAL_MARKERS = ['_SYSTEMD_UNIT', 'PRIORITY', '_HOSTNAME', 'SYSLOG_IDENTIFIER', '_PID', '_COMM'];

export function isJournalShaped(record: Record<string, unknown>): boolean {
  if (typeof record.MESSAGE !== 'string') return false;
  for (const key of JOURNAL_MARKERS) if (key in record) return true;
  return false;
}

/**
 * Fluent Bit's metrics and traces travel as one record holding a cmetrics or
 * ctraces binary; older Fluent Bits send them without the fluent_signal option.
 */
export function isFluentBitTelemetry(record: Record<string, unknown>): boolean {
  const payload = record.cmetrics ?? record.ctraces;
  return payload instanceof Uint8Array && Object.keys(record).length === 1;
}

/** Turns what msgpack can carry and JSON cannot into JSON, in place. */
export function toJsonValue(value: unknown): JsonValue {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number' && !Number.isFinite(value)) return null;
    return value === undefined ? null : (value as JsonValue);
  }
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  if (value instanceof EventTime) return formatRfc3339Nano(value.ns);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = toJsonValue(value[i]);
    return value as JsonValue[];
  }
  const obj = value as Record<string, unknown>;
  for (const key in obj) {
    const v = obj[key];
    if (v !== null && (typeof v === 'object' || typeof v === 'bigint' || typeof v === 'number')) obj[key] = toJsonValue(v);
  }
  return obj as JsonValue;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The app name from Kubernetes labels, the way the recommended labels spell it. */
function kubernetesApp(k: Record<string, unknown>): string | undefined {
  const labels = k.labels;
  if (typeof labels !== 'object' || labels === null) return undefined;
  const l = labels as Record<string, unknown>;
  return text(l['app.kubernetes.io/name']) ?? text(l.app) ?? text(l['k8s-app']);
}

/** `timeNs` undefined: the transport carries no event time (HTTP): the record's own time keys count. */
export function recordFromFluent(
  tag: string,
  timeNs: bigint | undefined,
  record: Record<string, unknown>,
  metadata: Record<string, unknown> | null,
  ctx: MappingContext,
): JsonRecordResult {
  toJsonValue(record);
  if (isJournalShaped(record)) {
    const r = normalizeJournalEntry(record as JournalEntry, ctx.nowNs, ctx.keepRaw);
    if (record._SOURCE_REALTIME_TIMESTAMP === undefined && record.__REALTIME_TIMESTAMP === undefined) r.ts = timeNs ?? ctx.nowNs;
    r.tenant = ctx.tenant;
    if (tag !== '') r.attrs.tag = tag;
    if (metadata) r.attrs.fluent_metadata = toJsonValue(metadata);
    return { record: r };
  }
  const d: JsonDefaults = { tenant: ctx.tenant, nowNs: ctx.nowNs, lenient: true };
  if (timeNs !== undefined) d.eventTs = timeNs;
  let tagPlaced = tag === '';
  const k = record.kubernetes;
  if (typeof k === 'object' && k !== null && !Array.isArray(k)) {
    const kube = k as Record<string, unknown>;
    d.host = text(kube.host);
    d.unit = text(kube.container_name);
    d.service = kubernetesApp(kube);
  }
  if (!tagPlaced && ctx.tagField === 'unit' && d.unit === undefined) {
    d.unit = tag;
    tagPlaced = !('unit' in record);
  } else if (!tagPlaced && ctx.tagField === 'service' && d.service === undefined) {
    d.service = tag;
    tagPlaced = !('service' in record);
  }
  const result = recordFromJson(record, d);
  if ('error' in result) return result;
  const r: LogRecord = result.record;
  if (!tagPlaced) r.attrs.tag = tag;
  if (metadata) r.attrs.fluent_metadata = toJsonValue(metadata);
  if (ctx.keepRaw && r.raw === null) r.raw = JSON.stringify(record);
  return result;
}

/**
 * Applies ingest.max_line_bytes to a record's message: 'ok', 'too_long' (to
 * be refused), or 'truncated' (cut at a character boundary and marked).
 */
export function fitMessage(record: LogRecord, maxBytes: number, oversize: 'reject' | 'truncate'): 'ok' | 'too_long' | 'truncated' {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short messages need no exact count.
  if (record.message.length * 3 <= maxBytes || Buffer.byteLength(record.message) <= maxBytes) return 'ok';
  if (oversize === 'reject') return 'too_long';
  record.message = truncateUtf8(record.message, maxBytes);
  record.attrs.truncated = true;
  record.raw = null;
  return 'truncated';
}
