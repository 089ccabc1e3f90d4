/**
 * Loki stream labels and structured metadata → LogRecord fields
 * (docs/protocols/loki-push.md has the table). Labels that name a core field
 * become it and leave the attrs; labels that only suggest one (`app`, `job`,
 * `container`: Loki's own service_name discovery order) fill `service` when
 * nothing names it and stay in attrs, so a query on `job` still finds them.
 */
import type { Attrs, LogRecord, Os, RecordType } from '../../record/record.ts';
import { OS_VALUES, TYPE_VALUES } from '../../record/record.ts';
import { parseSeverity } from '../../record/severity.ts';
import type { LokiEntry } from './decode.ts';

const HOST_LABELS = ['host', 'hostname', 'nodename'];
const UNIT_LABELS = ['unit', 'systemd_unit', 'syslog_identifier'];
const SERVICE_LABELS = ['service_name', 'service'];
/** Loki's service_name discovery order (after service_name and service). */
const SERVICE_HINTS = ['app', 'application', 'app_kubernetes_io_name', 'container', 'container_name', 'component', 'workload', 'job'];
const LEVEL_LABELS = ['level', 'severity', 'detected_level'];
/** What Loki itself fills in when a stream names no service. */
const UNKNOWN_SERVICE = 'unknown_service';

/** What one stream's labels say, computed once per stream. */
export interface StreamFields {
  host: string;
  unit: string;
  service: string;
  severity: number | undefined;
  os: Os;
  type: RecordType;
  attrs: Attrs;
}

/** Takes the first candidate label that `accept` agrees with out of `rest`; returns its value. */
function take<T>(rest: Record<string, string>, names: string[], accept: (v: string) => T | undefined): T | undefined {
  for (const name of names) {
    const value = rest[name];
    if (value === undefined) continue;
    const parsed = accept(value);
    if (parsed === undefined) continue;
    delete rest[name];
    return parsed;
  }
  return undefined;
}

const text = (v: string) => (v === '' ? undefined : v);
const oneOf =
  <T extends string>(values: readonly T[]) =>
  (v: string): T | undefined =>
    (values as readonly string[]).includes(v.toLowerCase()) ? (v.toLowerCase() as T) : undefined;

export function streamFields(labels: Record<string, string>): StreamFields {
  const rest: Record<string, string> = { ...labels };
  if (rest.service_name === UNKNOWN_SERVICE) delete rest.service_name;
  const host = take(rest, HOST_LABELS, text) ?? '';
  const unit = take(rest, UNIT_LABELS, text) ?? '';
  let service = take(rest, SERVICE_LABELS, text);
  if (service === undefined) {
    const hint = SERVICE_HINTS.find((name) => rest[name]);
    service = hint ? rest[hint]! : '';
  }
  const severity = take(rest, LEVEL_LABELS, parseSeverity);
  const os = take(rest, ['os'], oneOf(OS_VALUES)) ?? 'other';
  const type = take(rest, ['type'], oneOf(TYPE_VALUES)) ?? 'application';
  return { host, unit, service, severity, os, type, attrs: rest };
}

export function lokiRecord(stream: StreamFields, entry: LokiEntry, tenant: string, nowNs: bigint): LogRecord {
  const attrs: Attrs = { ...stream.attrs };
  let severity = stream.severity;
  let traceId: string | null = null;
  let spanId: string | null = null;
  if (entry.metadata) {
    const meta: Record<string, string> = { ...entry.metadata };
    traceId = take(meta, ['trace_id'], text) ?? null;
    spanId = take(meta, ['span_id'], text) ?? null;
    if (severity === undefined) severity = take(meta, LEVEL_LABELS, parseSeverity);
    Object.assign(attrs, meta);
  }
  return {
    ts: entry.ts ?? nowNs,
    observed_ts: nowNs,
    tenant,
    os: stream.os,
    host: stream.host,
    unit: stream.unit,
    service: stream.service,
    severity: severity ?? 6,
    type: stream.type,
    message: entry.line,
    trace_id: traceId,
    span_id: spanId,
    correlation_id: null,
    template_id: null,
    attrs,
    raw: null,
  };
}
