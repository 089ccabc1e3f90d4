/**
 * LogRecord: the one shape every source normalizes into (DESIGN.md, "The record").
 *
 * Timestamps are nanoseconds since the Unix epoch as bigint: nanoseconds do not
 * fit a float64 exactly, and journald, OTLP and Loki all carry them.
 */

export const OS_VALUES = ['windows', 'linux', 'macos', 'other'] as const;
export type Os = (typeof OS_VALUES)[number];

export const TYPE_VALUES = ['system', 'application', 'logger'] as const;
export type RecordType = (typeof TYPE_VALUES)[number];

/** Attribute values are arbitrary JSON. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Attrs = Record<string, JsonValue>;

export interface LogRecord {
  /** Event time, ns since epoch (UTC). */
  ts: bigint;
  /** Receipt time, ns since epoch, set by the server. */
  observed_ts: bigint;
  tenant: string;
  os: Os;
  host: string;
  /** Process, app or provider that wrote the line. */
  unit: string;
  /** Logical service (configuration or enrichment). */
  service: string;
  /** Syslog severity 0 (emerg) .. 7 (debug). */
  severity: number;
  type: RecordType;
  message: string;
  trace_id: string | null;
  span_id: string | null;
  correlation_id: string | null;
  template_id: string | null;
  attrs: Attrs;
  /** Original bytes as text, kept only when configured. */
  raw: string | null;
}

/** The core fields, in storage column order. `attrs` is stored as JSON text. */
export const CORE_FIELDS = [
  'ts',
  'observed_ts',
  'tenant',
  'os',
  'host',
  'unit',
  'service',
  'severity',
  'type',
  'message',
  'trace_id',
  'span_id',
  'correlation_id',
  'template_id',
  'attrs',
  'raw',
] as const;
export type CoreField = (typeof CORE_FIELDS)[number];

const CORE_FIELD_SET: ReadonlySet<string> = new Set(CORE_FIELDS);
export function isCoreField(name: string): name is CoreField {
  return CORE_FIELD_SET.has(name);
}

/** Fields that are strings and may be filtered with `field:value`. */
export const STRING_FIELDS = [
  'tenant',
  'os',
  'host',
  'unit',
  'service',
  'type',
  'message',
  'trace_id',
  'span_id',
  'correlation_id',
  'template_id',
  'raw',
] as const;

/** A record with defaults for everything a source did not say. */
export function newRecord(partial: Partial<LogRecord> & { message: string }, nowNs: bigint): LogRecord {
  return {
    ts: partial.ts ?? nowNs,
    observed_ts: partial.observed_ts ?? nowNs,
    tenant: partial.tenant ?? 'default',
    os: partial.os ?? 'other',
    host: partial.host ?? '',
    unit: partial.unit ?? '',
    service: partial.service ?? '',
    severity: partial.severity ?? 6,
    type: partial.type ?? 'application',
    message: partial.message,
    trace_id: partial.trace_id ?? null,
    span_id: partial.span_id ?? null,
    correlation_id: partial.correlation_id ?? null,
    template_id: partial.template_id ?? null,
    attrs: partial.attrs ?? {},
    raw: partial.raw ?? null,
  };
}

/** JSON form of a record for APIs: bigint timestamps become RFC 3339 strings plus ns strings. */
export interface RecordJson {
  id: string;
  ts: string;
  ts_ns: string;
  observed_ts: string;
  tenant: string;
  os: string;
  host: string;
  unit: string;
  service: string;
  severity: number;
  level: string;
  type: string;
  message: string;
  trace_id: string | null;
  span_id: string | null;
  correlation_id: string | null;
  template_id: string | null;
  attrs: Attrs;
  raw?: string | null;
}
