/**
 * ColumnBatch: records laid out by column for the trip to the store thread.
 * Timestamps and severities travel in typed arrays (transferred, not copied);
 * strings in plain arrays, which structured clone copies cheaply.
 */
import type { LogRecord, Os, RecordType } from '../record/record.ts';

export interface ColumnBatch {
  length: number;
  ts: BigInt64Array;
  observed_ts: BigInt64Array;
  severity: Uint8Array;
  tenant: string[];
  os: string[];
  host: string[];
  unit: string[];
  service: string[];
  type: string[];
  message: string[];
  trace_id: (string | null)[];
  span_id: (string | null)[];
  correlation_id: (string | null)[];
  template_id: (string | null)[];
  /** attrs as JSON text. */
  attrs: string[];
  raw: (string | null)[];
}

export function toColumnBatch(records: readonly LogRecord[]): ColumnBatch {
  const n = records.length;
  const b: ColumnBatch = {
    length: n,
    ts: new BigInt64Array(n),
    observed_ts: new BigInt64Array(n),
    severity: new Uint8Array(n),
    tenant: new Array(n),
    os: new Array(n),
    host: new Array(n),
    unit: new Array(n),
    service: new Array(n),
    type: new Array(n),
    message: new Array(n),
    trace_id: new Array(n),
    span_id: new Array(n),
    correlation_id: new Array(n),
    template_id: new Array(n),
    attrs: new Array(n),
    raw: new Array(n),
  };
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    b.ts[i] = r.ts;
    b.observed_ts[i] = r.observed_ts;
    b.severity[i] = r.severity;
    b.tenant[i] = r.tenant;
    b.os[i] = r.os;
    b.host[i] = r.host;
    b.unit[i] = r.unit;
    b.service[i] = r.service;
    b.type[i] = r.type;
    b.message[i] = r.message;
    b.trace_id[i] = r.trace_id;
    b.span_id[i] = r.span_id;
    b.correlation_id[i] = r.correlation_id;
    b.template_id[i] = r.template_id;
    b.attrs[i] = stringifyAttrs(r.attrs);
    b.raw[i] = r.raw;
  }
  return b;
}

function stringifyAttrs(attrs: LogRecord['attrs']): string {
  for (const _ in attrs) return JSON.stringify(attrs);
  return '{}';
}

export function recordsFromBatch(b: ColumnBatch): LogRecord[] {
  const out: LogRecord[] = new Array(b.length);
  for (let i = 0; i < b.length; i++) {
    out[i] = {
      ts: b.ts[i]!,
      observed_ts: b.observed_ts[i]!,
      tenant: b.tenant[i]!,
      os: b.os[i] as Os,
      host: b.host[i]!,
      unit: b.unit[i]!,
      service: b.service[i]!,
      severity: b.severity[i]!,
      type: b.type[i] as RecordType,
      message: b.message[i]!,
      trace_id: b.trace_id[i] ?? null,
      span_id: b.span_id[i] ?? null,
      correlation_id: b.correlation_id[i] ?? null,
      template_id: b.template_id[i] ?? null,
      attrs: JSON.parse(b.attrs[i]!),
      raw: b.raw[i] ?? null,
    };
  }
  return out;
}

export function transferList(b: ColumnBatch): ArrayBuffer[] {
  return [b.ts.buffer, b.observed_ts.buffer, b.severity.buffer] as ArrayBuffer[];
}
