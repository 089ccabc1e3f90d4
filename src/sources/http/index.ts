/**
 * Cairn's own HTTP ingest: POST /api/v1/logs with NDJSON, a JSON array (or one
 * object), or text/plain (one record per line, fields from query parameters);
 * gzip/zstd/deflate bodies. Answers {"accepted":N,"rejected":M,"errors":[...]}
 * only after the accepted records are durable.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LogRecord, Os, RecordType } from '../../record/record.ts';
import { OS_VALUES, TYPE_VALUES } from '../../record/record.ts';
import { recordFromJson, type JsonDefaults, type JsonRecordResult } from '../../record/normalize/json.ts';
import { parseSeverity } from '../../record/severity.ts';
import { nowNs } from '../../record/time.ts';
import { authorize } from '../../api/auth.ts';
import { decodeBody, mediaType } from '../../api/body.ts';
import { HttpError } from '../../api/errors.ts';
import { sources, type Source, type SourceContext } from '../source.ts';
import type { IngestContext, Ingestor } from '../ingestor.ts';

export const NDJSON_TYPES: ReadonlySet<string> = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/jsonlines', 'application/x-jsonlines']);
const MAX_REPORTED_ERRORS = 100;

export interface LineError {
  line: number;
  reason: string;
}

export interface IngestResult {
  accepted: number;
  rejected: number;
  errors: LineError[];
  errors_truncated?: boolean;
}

export interface ParseLimits {
  maxLineBytes: number;
  oversize: 'reject' | 'truncate';
  keepRaw: boolean;
}

/** Collects parsed records and per-line errors, counting rejections by reason. */
export class Collector {
  readonly records: LogRecord[] = [];
  readonly errors: LineError[] = [];
  rejected = 0;
  bytes = 0;
  private readonly ingestor: Ingestor;
  private readonly ctx: IngestContext;
  constructor(ingestor: Ingestor, ctx: IngestContext) {
    this.ingestor = ingestor;
    this.ctx = ctx;
  }
  fail(line: number, reason: string, code: string): void {
    this.rejected++;
    this.ingestor.reject(this.ctx, code);
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push({ line, reason });
  }
  noteTruncated(): void {
    this.ingestor.reject(this.ctx, 'truncated');
  }
  add(line: number, record: LogRecord, bytes: number): void {
    const refused = this.ingestor.admit(record, this.ctx);
    if (refused) {
      this.fail(line, 'timestamp outside the accepted window', refused);
      return;
    }
    this.records.push(record);
    this.bytes += bytes;
  }
}

export function byteLength(line: string, max: number): number {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short lines need no exact count.
  return line.length * 3 <= max ? line.length : Buffer.byteLength(line);
}

export function truncateUtf8(text: string, maxBytes: number): string {
  const buf = Buffer.from(text);
  if (buf.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--; // do not split a character
  return buf.subarray(0, end).toString('utf8');
}

/** How a parsed JSON value becomes a record: Cairn's own format, or a shipper's (the Fluent HTTP outputs). */
export type RecordMapper = (value: unknown) => JsonRecordResult;

function parseJsonLine(text: string, lineNo: number, toRecord: RecordMapper, limits: ParseLimits, out: Collector, oversize: boolean): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    out.fail(lineNo, `invalid JSON: ${(err as Error).message}`, 'invalid_json');
    return;
  }
  const result = toRecord(value);
  if ('error' in result) {
    out.fail(lineNo, result.error, 'invalid_record');
    return;
  }
  const r = result.record;
  if (oversize) {
    r.message = truncateUtf8(r.message, limits.maxLineBytes);
    r.attrs.truncated = true;
    r.raw = null;
    out.noteTruncated();
  } else if (limits.keepRaw && r.raw === null) {
    r.raw = text;
  }
  out.add(lineNo, r, text.length);
}

export function parseNdjson(text: string, toRecord: RecordMapper, limits: ParseLimits, out: Collector): void {
  let lineNo = 0;
  let start = 0;
  const n = text.length;
  while (start <= n) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = n;
    lineNo++;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    const oversize = byteLength(line, limits.maxLineBytes) > limits.maxLineBytes;
    if (oversize && limits.oversize === 'reject') {
      out.fail(lineNo, `line is longer than ${limits.maxLineBytes} bytes`, 'line_too_long');
      continue;
    }
    parseJsonLine(line, lineNo, toRecord, limits, out, oversize);
  }
}

function parseJsonArray(value: unknown, toRecord: RecordMapper, limits: ParseLimits, out: Collector): void {
  const items = Array.isArray(value) ? value : [value];
  items.forEach((item, i) => {
    const size = JSON.stringify(item)?.length ?? 0;
    const oversize = size > limits.maxLineBytes;
    if (oversize && limits.oversize === 'reject') {
      out.fail(i + 1, `record is longer than ${limits.maxLineBytes} bytes`, 'line_too_long');
      return;
    }
    const result = toRecord(item);
    if ('error' in result) {
      out.fail(i + 1, result.error, 'invalid_record');
      return;
    }
    if (oversize) {
      result.record.message = truncateUtf8(result.record.message, limits.maxLineBytes);
      result.record.attrs.truncated = true;
      out.noteTruncated();
    }
    out.add(i + 1, result.record, size);
  });
}

function parsePlainText(text: string, d: JsonDefaults, limits: ParseLimits, out: Collector): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') continue;
    const size = byteLength(line, limits.maxLineBytes);
    let truncated = false;
    if (size > limits.maxLineBytes) {
      if (limits.oversize === 'reject') {
        out.fail(i + 1, `line is longer than ${limits.maxLineBytes} bytes`, 'line_too_long');
        continue;
      }
      line = truncateUtf8(line, limits.maxLineBytes);
      truncated = true;
      out.noteTruncated();
    }
    const record: LogRecord = {
      // Lines carry no time of their own: receipt time plus the line's index in
      // ns keeps them in the order sent (and apart from each other).
      ts: d.nowNs + BigInt(i),
      observed_ts: d.nowNs,
      tenant: d.tenant,
      os: d.os ?? 'other',
      host: d.host ?? '',
      unit: d.unit ?? '',
      service: d.service ?? '',
      severity: d.severity ?? 6,
      type: d.type ?? 'application',
      message: line,
      trace_id: null,
      span_id: null,
      correlation_id: null,
      template_id: null,
      attrs: truncated ? { truncated: true } : {},
      raw: limits.keepRaw && !truncated ? line : null,
    };
    out.add(i + 1, record, line.length);
  }
}

/** Defaults for records from query parameters (host, unit, service, os, type, level). */
function defaultsFromQuery(query: Record<string, string | undefined>, tenant: string): JsonDefaults {
  const d: JsonDefaults = { tenant, nowNs: nowNs() };
  if (query.host) d.host = query.host;
  if (query.unit) d.unit = query.unit;
  if (query.service) d.service = query.service;
  if (query.os) {
    if (!(OS_VALUES as readonly string[]).includes(query.os)) {
      throw new HttpError(400, 'invalid_parameter', `os: must be one of ${OS_VALUES.join(', ')}`);
    }
    d.os = query.os as Os;
  }
  if (query.type) {
    if (!(TYPE_VALUES as readonly string[]).includes(query.type)) {
      throw new HttpError(400, 'invalid_parameter', `type: must be one of ${TYPE_VALUES.join(', ')}`);
    }
    d.type = query.type as RecordType;
  }
  const level = query.level ?? query.severity;
  if (level !== undefined) {
    d.severity = parseSeverity(level);
    if (d.severity === undefined) throw new HttpError(400, 'invalid_parameter', `level: unknown severity ${JSON.stringify(level)}`);
  }
  return d;
}

export function createHttpSource(ctx: SourceContext): Source {
  const { config, ingestor, auth } = ctx;
  const limits: ParseLimits = {
    maxLineBytes: config.ingest.max_line_bytes,
    oversize: config.ingest.oversize_action,
    keepRaw: config.ingest.keep_raw,
  };

  ctx.http.post('/api/v1/logs', async (req: FastifyRequest, reply: FastifyReply) => {
    const principal = authorize(auth, req, 'ingest');
    const ictx: IngestContext = { source: 'http', tenant: principal.tenant };
    const wire = Buffer.isBuffer(req.body) ? req.body.length : 0;
    ingestor.received(ictx, wire);
    const type = mediaType(req);
    const isNdjson = NDJSON_TYPES.has(type);
    const isJson = type === 'application/json';
    const isText = type === 'text/plain';
    if (!isNdjson && !isJson && !isText) {
      ingestor.reject(ictx, 'unsupported_media_type');
      throw new HttpError(
        415,
        'unsupported_media_type',
        `Content-Type "${type || '(none)'}" is not accepted here; send application/x-ndjson, application/json or text/plain`,
      );
    }
    const query = req.query as Record<string, string | undefined>;
    const defaults = defaultsFromQuery(query, principal.tenant);
    let body: Buffer;
    try {
      body = await decodeBody(req, config.ingest.max_body_bytes);
    } catch (err) {
      if (err instanceof HttpError) ingestor.reject(ictx, err.code);
      throw err;
    }
    const text = body.toString('utf8');
    const out = new Collector(ingestor, ictx);
    if (isText) parsePlainText(text, defaults, limits, out);
    else parseJsonBody(text, isJson, (value) => recordFromJson(value, defaults), limits, out);
    await ingestor.submit(out.records, ictx, out.bytes);
    const result: IngestResult = { accepted: out.records.length, rejected: out.rejected, errors: out.errors };
    if (out.rejected > out.errors.length) result.errors_truncated = true;
    return reply.code(200).send(result);
  });

  return {
    name: 'http',
    start: async () => undefined,
    stop: async () => undefined,
  };
}

/** A JSON array, one JSON document (for application/json), or NDJSON. */
/**
 * A JSON body: an array of records, one record (also pretty-printed over
 * several lines), or NDJSON. A body starting with `[` must be one JSON value;
 * one starting with `{` is one document if it parses as one, else NDJSON.
 */
export function parseJsonBody(text: string, isJson: boolean, toRecord: RecordMapper, limits: ParseLimits, out: Collector): void {
  const first = text.trimStart()[0];
  if (first === '[') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new HttpError(400, 'invalid_json', `the body is not valid JSON: ${(err as Error).message}`);
    }
    parseJsonArray(value, toRecord, limits, out);
    return;
  }
  if (isJson && first === '{') {
    const single = parseSingleDocument(text);
    if (single !== NOT_ONE_DOCUMENT) {
      parseJsonArray(single, toRecord, limits, out);
      return;
    }
  }
  parseNdjson(text, toRecord, limits, out);
}

const NOT_ONE_DOCUMENT = Symbol('not one document');

/** The value of a body that is one JSON document; a one-line body is one even when it does not parse (its error is reported per line). */
function parseSingleDocument(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch (err) {
    if (!trimmed.includes('\n')) throw new HttpError(400, 'invalid_json', `the body is not valid JSON: ${(err as Error).message}`);
    return NOT_ONE_DOCUMENT;
  }
}

sources.register('http', createHttpSource);
