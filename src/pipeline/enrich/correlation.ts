/**
 * Trace and correlation ids, so that records of one request meet across
 * hosts and operating systems: W3C `traceparent` (in attrs or in the
 * message) → trace_id and span_id; well-known keys in attrs (top level and
 * one level down, where Windows puts EventData) → trace_id, span_id,
 * correlation_id; patterns over the message → correlation_id. GUIDs are
 * written in one form (lower case, no braces), since Windows writes
 * `{8F2C...}` where a Linux service logs `8f2c...` for the same id.
 */
import type { Attrs, JsonValue, LogRecord } from '../../record/record.ts';
import type { UserRegex } from '../regex.ts';

const TRACEPARENT = /(?:^|[^0-9a-f])([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?![0-9a-f])/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const GUID = /^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$/;

/** A key as compared: lower case without `_`, `-` and `.` (request_id = requestId = X-Request-ID minus the x). */
export function keyForm(key: string): string {
  return key.toLowerCase().replace(/[-_.]/g, '');
}

export function normalizeId(value: string): string {
  const m = GUID.exec(value);
  return m ? m[1]!.toLowerCase() : value;
}

/** trace id and span id of a W3C traceparent header value (version 00 layout, any version accepted), or null. */
export function parseTraceparent(text: string): { traceId: string; spanId: string } | null {
  const m = TRACEPARENT.exec(text);
  if (!m || m[1] === 'ff' || m[2] === ZERO_TRACE || m[3] === ZERO_SPAN) return null;
  return { traceId: m[2]!, spanId: m[3]! };
}

export interface CorrelationOptions {
  traceparentKeys: string[];
  traceKeys: string[];
  spanKeys: string[];
  correlationKeys: string[];
  patterns: UserRegex[];
  normalizeGuids: boolean;
}

function idText(v: JsonValue | undefined): string | undefined {
  if (typeof v === 'string') return v.length > 0 && v.length <= 256 ? v : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

export class CorrelationExtractor {
  private readonly wanted: Map<string, 'traceparent' | 'trace' | 'span' | 'correlation'>;
  private readonly options: CorrelationOptions;

  constructor(options: CorrelationOptions) {
    this.options = options;
    this.wanted = new Map();
    for (const k of options.correlationKeys) this.wanted.set(keyForm(k), 'correlation');
    for (const k of options.spanKeys) this.wanted.set(keyForm(k), 'span');
    for (const k of options.traceKeys) this.wanted.set(keyForm(k), 'trace');
    for (const k of options.traceparentKeys) this.wanted.set(keyForm(k), 'traceparent');
  }

  apply(r: LogRecord): void {
    const found: { traceparent?: string; trace?: string; span?: string; correlation?: string } = {};
    this.scan(r.attrs, found, null);
    const tp = found.traceparent !== undefined ? parseTraceparent(found.traceparent) : null;
    const inMessage = tp === null && r.trace_id === null && r.message.includes('traceparent') ? parseTraceparent(r.message.slice(r.message.indexOf('traceparent'))) : null;
    const trace = tp ?? inMessage;
    if (r.trace_id === null) r.trace_id = trace?.traceId ?? (found.trace !== undefined ? found.trace.toLowerCase() : null);
    if (r.span_id === null) r.span_id = trace?.spanId ?? (found.span !== undefined ? found.span.toLowerCase() : null);
    if (r.correlation_id === null) r.correlation_id = found.correlation ?? this.fromMessage(r.message);
    if (this.options.normalizeGuids && r.correlation_id !== null) r.correlation_id = normalizeId(r.correlation_id);
  }

  /** Keys at the top level of attrs and one level down (EventData, headers, `trace` of trace.id, ...). */
  private scan(attrs: Attrs, found: Record<string, string | undefined>, parent: string | null): void {
    for (const key in attrs) {
      const v = attrs[key];
      const form = keyForm(key);
      const kind = this.wanted.get(form) ?? (parent !== null ? this.wanted.get(parent + form) : undefined);
      if (kind !== undefined) {
        const text = idText(v);
        if (text !== undefined && found[kind] === undefined) found[kind] = text;
      } else if (parent === null && typeof v === 'object' && v !== null && !Array.isArray(v)) this.scan(v, found, form);
    }
  }

  private fromMessage(message: string): string | null {
    for (const re of this.options.patterns) {
      const m = re.exec(message);
      if (!m) continue;
      const id = m.groups?.id ?? m[1];
      if (id) return id;
    }
    return null;
  }
}

export const DEFAULT_TRACEPARENT_KEYS = ['traceparent'];
export const DEFAULT_TRACE_KEYS = ['trace_id', 'traceId', 'trace.id', 'otel.trace_id', 'x-b3-traceid'];
export const DEFAULT_SPAN_KEYS = ['span_id', 'spanId', 'span.id', 'otel.span_id', 'x-b3-spanid'];
export const DEFAULT_CORRELATION_KEYS = ['correlation_id', 'correlationId', 'x-correlation-id', 'request_id', 'requestId', 'x-request-id', 'req_id', 'activity_id'];
// Written for V8's linear engine (no counted repetition above 16), since it runs on every record without an id.
export const DEFAULT_CORRELATION_PATTERNS = ['(?i)\\b(?:request|correlation|req)[_-]?id["\']?[=: ]{1,3}["\']?(?P<id>[\\w.:-]{6}[\\w.:-]*)'];
