/**
 * cairn.agent.v1.Record (Cairn's own record model on the wire) → LogRecord.
 * The fields are typed on the wire, so the record is built directly (this is
 * the agent stream's per-record path) with the HTTP API's checks and error
 * texts (json.ts' osOf, typeOf, parseSeverity; records.test.ts holds the two
 * paths to the same results).
 */
import type { Attrs, LogRecord } from '../../record/record.ts';
import { ATTRS_DEPTH_ERROR, OS_ERROR, TYPE_ERROR, osOf, severityError, typeOf } from '../../record/normalize/json.ts';
import { int64ToBigInt, type Int64 } from '../../record/normalize/otlp.ts';
import { parseSeverity } from '../../record/severity.ts';
import { MAX_ATTR_DEPTH, nestedDeeper } from '../../record/attrs.ts';

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

/**
 * The last attrs_json parsed, when it was flat (no nested values): an
 * agent's records from one source share their attrs text, so the next one
 * with that text gets a shallow copy instead of a parse.
 */
let lastAttrsJson = '';
let lastFlatAttrs: Attrs = {};

function parseAttrs(text: string): { attrs: Attrs } | { error: string } {
  if (text === lastAttrsJson) return { attrs: { ...lastFlatAttrs } };
  let attrs: unknown;
  try {
    attrs = JSON.parse(text);
  } catch (err) {
    return { error: `attrs_json: not valid JSON: ${(err as Error).message}` };
  }
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) return { error: 'attrs_json: must be a JSON object' };
  if (nestedDeeper(attrs, MAX_ATTR_DEPTH + 1)) return { error: ATTRS_DEPTH_ERROR };
  if (!nestedDeeper(attrs, 1)) {
    lastAttrsJson = text;
    lastFlatAttrs = { ...(attrs as Attrs) };
  }
  return { attrs: attrs as Attrs };
}

export function recordFromAgent(r: AgentRecord, tenant: string, nowNs: bigint, keepRaw: boolean): { record: LogRecord } | { error: string } {
  let attrs: Attrs = {};
  if (r.attrsJson) {
    const parsed = parseAttrs(r.attrsJson);
    if ('error' in parsed) return parsed;
    attrs = parsed.attrs;
  }
  let severity = 6;
  if (typeof r.severity === 'number') {
    const known = parseSeverity(r.severity);
    if (known === undefined) return { error: severityError('severity', r.severity) };
    severity = known;
  }
  const os = r.os ? osOf(r.os) : 'other';
  if (os === undefined) return { error: OS_ERROR };
  const type = r.type ? typeOf(r.type) : 'application';
  if (type === undefined) return { error: TYPE_ERROR };
  const ts = int64ToBigInt(r.tsUnixNano, false);
  if (ts === undefined) return { error: 'ts_unix_nano: not a 64-bit integer' };
  if (r.recordId) attrs.record_id = r.recordId;
  return {
    record: {
      ts: ts === 0n ? nowNs : ts,
      observed_ts: nowNs,
      tenant,
      os,
      host: r.host || '',
      unit: r.unit || '',
      service: r.service || '',
      severity,
      type,
      message: r.message ?? '',
      trace_id: r.traceId || null,
      span_id: r.spanId || null,
      correlation_id: r.correlationId || null,
      template_id: null,
      attrs,
      raw: keepRaw && r.raw ? r.raw : null,
    },
  };
}
