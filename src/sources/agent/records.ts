/**
 * cairn.agent.v1.Record (Cairn's own record model on the wire) → LogRecord,
 * through recordFromJson so the checks and error texts are those of the HTTP
 * API; only the timestamp (always ns here) and the attrs text are read apart.
 */
import type { LogRecord } from '../../record/record.ts';
import { recordFromJson } from '../../record/normalize/json.ts';
import { int64ToBigInt, type Int64 } from '../../record/normalize/otlp.ts';

/** A Record as protobufjs decodes it (defaults on the prototype, `severity` absent when unset). */
export interface AgentRecord {
  tsUnixNano?: Int64;
  host?: string;
  unit?: string;
  service?: string;
  severity?: number | null;
  os?: string;
  type?: string;
  message?: string;
  traceId?: string;
  spanId?: string;
  correlationId?: string;
  attrsJson?: string;
  recordId?: string;
  raw?: string;
  seq?: Int64;
}

/** A record's seq as a number (agents start seqs near 1e15, far inside 2^53); 0 = none. */
export function seqOf(r: AgentRecord): number {
  const v = r.seq;
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null) return (v.high >>> 0) * 4294967296 + (v.low >>> 0);
  return v ? Number(v) || 0 : 0;
}

export function recordFromAgent(r: AgentRecord, tenant: string, nowNs: bigint, keepRaw: boolean): { record: LogRecord } | { error: string } {
  let attrs: unknown = {};
  if (r.attrsJson) {
    try {
      attrs = JSON.parse(r.attrsJson);
    } catch (err) {
      return { error: `attrs_json: not valid JSON: ${(err as Error).message}` };
    }
    if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) return { error: 'attrs_json: must be a JSON object' };
  }
  const fields: Record<string, unknown> = { message: r.message ?? '', attrs };
  if (r.host) fields.host = r.host;
  if (r.unit) fields.unit = r.unit;
  if (r.service) fields.service = r.service;
  if (typeof r.severity === 'number') fields.severity = r.severity;
  if (r.os) fields.os = r.os;
  if (r.type) fields.type = r.type;
  if (r.traceId) fields.trace_id = r.traceId;
  if (r.spanId) fields.span_id = r.spanId;
  if (r.correlationId) fields.correlation_id = r.correlationId;
  if (keepRaw && r.raw) fields.raw = r.raw;
  const result = recordFromJson(fields, { tenant, nowNs });
  if ('error' in result) return result;
  const ts = int64ToBigInt(r.tsUnixNano, false);
  if (ts === undefined) return { error: 'ts_unix_nano: not a 64-bit integer' };
  if (ts !== 0n) result.record.ts = ts;
  if (r.recordId) result.record.attrs.record_id = r.recordId;
  return result;
}
