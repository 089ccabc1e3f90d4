/**
 * What inputs hand to the buffer: a record encoded once as a
 * cairn.agent.v1.Record (protobufjs), stored as is, and shipped inside a
 * RecordBatch without decoding again (shipper.ts adds the seq).
 */
import type { Attrs, LogRecord } from '../record/record.ts';
import { protoType } from '../sources/grpc/proto.ts';

const RecordType = protoType('cairn.agent.v1.Record');

/** ns since the epoch as the {low, high} pair protobufjs writes for an int64. */
export function int64Bits(ns: bigint): { low: number; high: number; unsigned: boolean } {
  const ts = BigInt.asUintN(64, ns);
  return { low: Number(ts & 0xffffffffn) | 0, high: Number(ts >> 32n) | 0, unsigned: false };
}

/** A Record in protobufjs' field names (tsUnixNano, attrsJson, ...) as wire bytes. */
export function encodeFields(fields: Record<string, unknown>): Buffer {
  const out = RecordType.encode(fields).finish();
  // protobufjs hands out a Buffer in Node: no copy.
  return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** A LogRecord (from an input's normalizer) as wire bytes; tenant and observed_ts are the server's business. */
export function encodeRecord(r: LogRecord, extra?: { recordId?: string }): Buffer {
  const message: Record<string, unknown> = {
    tsUnixNano: int64Bits(r.ts),
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
  return encodeFields(message);
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
