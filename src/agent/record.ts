/**
 * What inputs hand to the buffer: a record encoded once as a
 * cairn.agent.v1.Record (protobufjs), stored as is, and shipped inside a
 * RecordBatch without decoding again (shipper.ts adds the seq).
 */
import type { Attrs, LogRecord } from '../record/record.ts';
import { protoType } from '../sources/grpc/proto.ts';

const RecordType = protoType('cairn.agent.v1.Record');

/** A LogRecord (from an input's normalizer) as wire bytes; tenant and observed_ts are the server's business. */
export function encodeRecord(r: LogRecord, extra?: { recordId?: string }): Buffer {
  const ts = BigInt.asUintN(64, r.ts);
  const message: Record<string, unknown> = {
    tsUnixNano: { low: Number(ts & 0xffffffffn) | 0, high: Number(ts >> 32n) | 0, unsigned: false },
    host: r.host,
    unit: r.unit,
    service: r.service,
    severity: r.severity,
    os: r.os,
    type: r.type,
    message: r.message,
  };
  if (r.trace_id) message.traceId = r.trace_id;
  if (r.span_id) message.spanId = r.span_id;
  if (r.correlation_id) message.correlationId = r.correlation_id;
  if (hasKeys(r.attrs)) message.attrsJson = JSON.stringify(r.attrs);
  if (r.raw !== null) message.raw = r.raw;
  if (extra?.recordId) message.recordId = extra.recordId;
  return Buffer.from(RecordType.encode(message).finish());
}

/** Applies what an input's config sets on every record (service, type, attrs) to a normalized record. */
export function withInputFields(r: LogRecord, cfg: { service: string; type?: LogRecord['type']; attrs: Record<string, unknown> }): LogRecord {
  if (cfg.service) r.service = cfg.service;
  if (cfg.type) r.type = cfg.type;
  for (const k in cfg.attrs) if (!(k in r.attrs)) r.attrs[k] = cfg.attrs[k] as Attrs[string];
  return r;
}

function hasKeys(attrs: Attrs): boolean {
  for (const _ in attrs) return true;
  return false;
}

/** Decodes a buffered record (tests, diagnostics). */
export function decodeRecord(bytes: Uint8Array): Record<string, unknown> {
  return RecordType.toObject(RecordType.decode(bytes), { longs: String, defaults: false });
}
