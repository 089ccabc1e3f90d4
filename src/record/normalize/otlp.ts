/**
 * OTLP logs (an ExportLogsServiceRequest as protobufjs decodes it, from
 * protobuf or from OTLP/JSON) → LogRecords. The mapping is documented in
 * docs/protocols/otlp.md; the choices are in docs/decisions/0301-otlp-mapping.md.
 */
import type { Attrs, JsonValue, LogRecord, Os } from '../record.ts';
import { MAX_ATTR_DEPTH, cloneJson, expandAttributes, putOwn, setDotted } from '../attrs.ts';
import { parseSeverity } from '../severity.ts';

/** A 64-bit integer as protobufjs gives it: a `long` Long, or a number/string from JSON. */
export interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
}
export type Int64 = LongLike | number | string | null | undefined;

export interface OtlpAnyValue {
  /** protobufjs' oneof discriminator: which of the fields below is set. */
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] | null } | null;
  kvlistValue?: { values?: OtlpKeyValue[] | null } | null;
  bytesValue?: Uint8Array;
}

export interface OtlpKeyValue {
  key?: string;
  value?: OtlpAnyValue | null;
}

export interface OtlpLogRecord {
  timeUnixNano?: Int64;
  observedTimeUnixNano?: Int64;
  severityNumber?: number;
  severityText?: string;
  body?: OtlpAnyValue | null;
  attributes?: OtlpKeyValue[] | null;
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  eventName?: string;
}

export interface OtlpScopeLogs {
  scope?: { name?: string; version?: string; attributes?: OtlpKeyValue[] | null } | null;
  logRecords?: OtlpLogRecord[] | null;
}

export interface OtlpResourceLogs {
  resource?: { attributes?: OtlpKeyValue[] | null } | null;
  scopeLogs?: OtlpScopeLogs[] | null;
}

export interface OtlpExportRequest {
  resourceLogs?: OtlpResourceLogs[] | null;
}

/**
 * OpenTelemetry severity number (1-24) → syslog severity (0-7); undefined for
 * 0 (unspecified) and out-of-range numbers. INFO2-4 are "notice" (the OTel data
 * model maps syslog Notice to INFO2); all FATAL levels are "crit".
 */
export function otelSeverityToSyslog(n: number): number | undefined {
  if (!Number.isInteger(n) || n < 1 || n > 24) return undefined;
  if (n <= 8) return 7; // TRACE, DEBUG
  if (n === 9) return 6; // INFO
  if (n <= 12) return 5; // INFO2-4
  if (n <= 16) return 4; // WARN
  if (n <= 20) return 3; // ERROR
  return 2; // FATAL
}

/** The resource attribute os.type (OTel semantic conventions) → Cairn's os. */
export function osFromOtel(osType: string | undefined): Os {
  switch (osType) {
    case 'windows':
      return 'windows';
    case 'linux':
      return 'linux';
    case 'darwin':
      return 'macos';
    default:
      return 'other';
  }
}

function isLongLike(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && typeof (v as LongLike).low === 'number' && typeof (v as LongLike).high === 'number';
}

/** A 64-bit value as bigint (unsigned for fixed64 timestamps); undefined when it is not one. */
export function int64ToBigInt(v: Int64, unsigned: boolean): bigint | undefined {
  let n: bigint;
  if (isLongLike(v)) n = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  else if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) n = BigInt(v);
  else return undefined;
  return unsigned ? BigInt.asUintN(64, n) : BigInt.asIntN(64, n);
}

/** An int64 attribute as a JSON number when exact, else as decimal text. */
function int64ToJson(v: Int64): JsonValue {
  const n = int64ToBigInt(v, false);
  if (n === undefined) return null;
  return n >= -9007199254740991n && n <= 9007199254740991n ? Number(n) : n.toString();
}

export function anyValueToJson(v: OtlpAnyValue | null | undefined, depth = 0): JsonValue {
  if (!v) return null;
  // An OTLP attribute cannot be refused on its own: a value nested too deep is cut.
  if (depth > MAX_ATTR_DEPTH) return `[nested more than ${MAX_ATTR_DEPTH} levels]`;
  switch (v.value) {
    case 'stringValue':
      return v.stringValue ?? '';
    case 'boolValue':
      return v.boolValue ?? false;
    case 'intValue':
      return int64ToJson(v.intValue);
    case 'doubleValue': {
      const d = v.doubleValue ?? 0;
      return Number.isFinite(d) ? d : String(d);
    }
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map((item) => anyValueToJson(item, depth + 1));
    case 'kvlistValue': {
      const out: Attrs = {};
      for (const kv of v.kvlistValue?.values ?? []) putOwn(out, kv.key ?? '', anyValueToJson(kv.value, depth + 1));
      return out;
    }
    case 'bytesValue':
      return Buffer.from(v.bytesValue ?? []).toString('base64');
    default:
      return null;
  }
}

/** The body as message text: strings as they are, structures as JSON. */
export function bodyToMessage(body: OtlpAnyValue | null | undefined): string {
  if (!body || body.value === undefined) return '';
  if (body.value === 'stringValue') return body.stringValue ?? '';
  const json = anyValueToJson(body);
  return typeof json === 'string' ? json : JSON.stringify(json);
}

/** 16- or 8-byte id → lower-case hex; null when absent or all zero (OTLP: "invalid"). */
export function idToHex(id: Uint8Array | undefined): string | null {
  if (!id || id.length === 0) return null;
  let zero = true;
  for (const b of id) {
    if (b !== 0) {
      zero = false;
      break;
    }
  }
  return zero ? null : Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

/** Attributes → nested attrs (see expandAttributes); `rename` may move a key elsewhere. */
function expand(kvs: OtlpKeyValue[] | null | undefined, skip?: ReadonlySet<string>, rename?: (key: string) => string): Attrs {
  const pairs: [string, JsonValue][] = [];
  for (const kv of kvs ?? []) {
    const key = kv.key ?? '';
    if (skip?.has(key)) continue;
    pairs.push([rename ? rename(key) : key, anyValueToJson(kv.value)]);
  }
  return expandAttributes(pairs);
}

function attrString(kvs: OtlpKeyValue[] | null | undefined, key: string): string | undefined {
  for (const kv of kvs ?? []) {
    if (kv.key === key && kv.value?.value === 'stringValue') return kv.value.stringValue ?? '';
  }
  return undefined;
}

/** Resource attributes that become core fields and are not repeated in attrs.resource. */
const RESOURCE_CORE = new Set(['service.name', 'host.name']);

/** attrs.resource and attrs.scope are Cairn's; log attributes under those names move under `log`. */
function moveReserved(key: string): string {
  const reserved = key.startsWith('resource') ? 8 : key.startsWith('scope') ? 5 : 0;
  return reserved > 0 && (key.length === reserved || key[reserved] === '.') ? `log.${key}` : key;
}

export interface OtlpRecordContext {
  tenant: string;
  nowNs: bigint;
}

/** Maps every log record of the request, in request order. */
export function otlpToRecords(req: OtlpExportRequest, ctx: OtlpRecordContext): LogRecord[] {
  const out: LogRecord[] = [];
  for (const rl of req.resourceLogs ?? []) {
    const rattrs = rl.resource?.attributes;
    const serviceName = attrString(rattrs, 'service.name');
    const host = attrString(rattrs, 'host.name') ?? '';
    const os = osFromOtel(attrString(rattrs, 'os.type'));
    const knownService = serviceName && !serviceName.startsWith('unknown_service') ? serviceName : undefined;
    // Built once per resource and scope, copied into each record (a later stage may change one record's attrs).
    const resource = expand(rattrs, RESOURCE_CORE);
    const hasResource = Object.keys(resource).length > 0;
    for (const sl of rl.scopeLogs ?? []) {
      const scopeName = sl.scope?.name ?? '';
      const scopeVersion = sl.scope?.version ?? '';
      const scope = expand(sl.scope?.attributes);
      if (scopeName) scope.name = scopeName;
      if (scopeVersion) scope.version = scopeVersion;
      const hasScope = Object.keys(scope).length > 0;
      const unit = knownService ?? attrString(rattrs, 'process.executable.name') ?? (scopeName || serviceName || '');
      for (const lr of sl.logRecords ?? []) {
        const attrs = expand(lr.attributes, undefined, moveReserved);
        if (lr.eventName) setDotted(attrs, 'event.name', lr.eventName);
        if (hasResource) attrs.resource = cloneJson(resource);
        if (hasScope) attrs.scope = cloneJson(scope);
        const sevNumber = typeof lr.severityNumber === 'number' ? lr.severityNumber : 0;
        const severity = otelSeverityToSyslog(sevNumber) ?? (lr.severityText ? parseSeverity(lr.severityText) : undefined) ?? 6;
        const time = int64ToBigInt(lr.timeUnixNano, true) || int64ToBigInt(lr.observedTimeUnixNano, true) || ctx.nowNs;
        const record: LogRecord = {
          ts: time,
          observed_ts: ctx.nowNs,
          tenant: ctx.tenant,
          os,
          host,
          unit,
          service: serviceName ?? '',
          severity,
          type: 'application',
          message: bodyToMessage(lr.body),
          trace_id: idToHex(lr.traceId),
          span_id: idToHex(lr.spanId),
          correlation_id: null,
          template_id: null,
          attrs,
          raw: null,
        };
        out.push(record);
      }
    }
  }
  return out;
}
