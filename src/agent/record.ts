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

/**
 * An encoder for records that differ only in time and message (a file's
 * lines): the fields they share are encoded once, and each record is those
 * bytes plus ts_unix_nano (1) and message (8) written by hand. Protobuf
 * allows fields in any order, so the bytes decode exactly as encodeFields'
 * would; the file input's hot path then allocates one Buffer per line instead
 * of protobufjs' writer objects (~0.7 → 0.25 µs per line).
 */
export function sharedFieldsEncoder(shared: Record<string, unknown>): (message: string, ts: { low: number; high: number }) => Buffer {
  const head = encodeFields(shared);
  return (message, ts) => {
    const messageBytes = Buffer.byteLength(message);
    // head + ts (tag + up to 10 varint bytes) + message (tag + up to 5 length bytes + text)
    const buf = Buffer.allocUnsafe(head.length + 11 + 6 + messageBytes);
    let at = head.copy(buf, 0);
    buf[at++] = 0x08;
    let lo = ts.low >>> 0;
    let hi = ts.high >>> 0;
    while (hi > 0 || lo > 127) {
      buf[at++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[at++] = lo;
    buf[at++] = 0x42;
    let len = messageBytes;
    while (len > 127) {
      buf[at++] = (len & 0x7f) | 0x80;
      len >>>= 7;
    }
    buf[at++] = len;
    at += buf.write(message, at);
    return buf.subarray(0, at);
  };
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
