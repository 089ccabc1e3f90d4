/**
 * POST /api/v1/fluent (and /api/v1/fluent/TAG): the bodies Fluent Bit's `http`
 * output (format json, json_lines or msgpack) and Fluentd's `out_http` (json,
 * ndjson, json_array, msgpack) post. Token auth as for /api/v1/logs (Bearer,
 * or Basic auth whose password is the token); the tag comes from the path,
 * `?tag=`, or the X-Fluent-Tag header (Fluent Bit's `header_tag`). Records map
 * as forward records do; Fluent Bit's `date` key (json_date_key) is the event
 * time. Answers {"accepted","rejected","errors"} after the records are durable.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CairnConfig } from '../../config/schema.ts';
import { authorize, type Authenticator } from '../../api/auth.ts';
import type { Principal } from '../../auth/tokens.ts';
import { decodeBody, mediaType } from '../../api/body.ts';
import { HttpError } from '../../api/errors.ts';
import { parseTimestamp, nowNs } from '../../record/time.ts';
import type { Ingestor, IngestContext } from '../ingestor.ts';
import type { SourceContext } from '../source.ts';
import { Collector, NDJSON_TYPES, parseJsonBody, type IngestResult, type ParseLimits } from '../http/index.ts';
import { fitMessage, recordFromFluent, type MappingContext } from './mapping.ts';
import { FrameError } from './msgpack.ts';
import { EntryCollector } from './protocol.ts';
import { UNKNOWN_TENANT } from './connection.ts';

const SOURCE = 'fluent_http';
const MSGPACK_TYPES: ReadonlySet<string> = new Set(['application/msgpack', 'application/x-msgpack']);
/** Fluent Bit's json_date_key default. */
const DATE_KEY = 'date';

function tagOf(req: FastifyRequest): string {
  const params = req.params as { tag?: string };
  const query = req.query as { tag?: string };
  const header = req.headers['x-fluent-tag'];
  return params.tag ?? query.tag ?? (typeof header === 'string' ? header : '');
}

function parseMsgpack(body: Buffer, tag: string, mapping: MappingContext, config: CairnConfig, ingestor: Ingestor, out: Collector, ictx: IngestContext): void {
  const entries = new EntryCollector(config.sources.forward.max_records_per_message);
  try {
    entries.addPackedStream(body, true);
  } catch (err) {
    const code = (err as FrameError).reason === 'too_many_records' ? 'too_many_records' : 'invalid_msgpack';
    ingestor.reject(ictx, code);
    throw new HttpError(400, code, `the body is not a MessagePack stream of [time, record] entries or records: ${(err as Error).message}`);
  }
  for (const skip of entries.skipped) out.fail(skip.entry, skip.reason, 'invalid_record');
  ingestor.reject(ictx, 'invalid_record', entries.invalid - entries.skipped.length);
  out.rejected += entries.invalid - entries.skipped.length;
  for (const event of entries.events) {
    const result = recordFromFluent(tag, event.time, event.record, event.metadata, mapping);
    if ('error' in result) {
      out.fail(event.entry, result.error, 'invalid_record');
      continue;
    }
    const fit = fitMessage(result.record, config.ingest.max_line_bytes, config.ingest.oversize_action);
    if (fit === 'too_long') {
      out.fail(event.entry, `message is longer than ${config.ingest.max_line_bytes} bytes`, 'line_too_long');
      continue;
    }
    if (fit === 'truncated') out.noteTruncated();
    out.add(event.entry, result.record, 0);
  }
}

export function registerFluentHttpRoute(ctx: SourceContext): void {
  const { config, ingestor } = ctx;
  const auth: Authenticator = ctx.auth;
  const limits: ParseLimits = { maxLineBytes: config.ingest.max_line_bytes, oversize: config.ingest.oversize_action, keepRaw: config.ingest.keep_raw };
  const tagField = config.sources.forward.tag_field;

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    let principal: Principal;
    try {
      principal = authorize(auth, req, 'ingest');
    } catch (err) {
      if (err instanceof HttpError) ingestor.reject({ source: SOURCE, tenant: UNKNOWN_TENANT }, err.code);
      throw err;
    }
    const ictx: IngestContext = { source: SOURCE, tenant: principal.tenant };
    const wire = Buffer.isBuffer(req.body) ? req.body.length : 0;
    ingestor.received(ictx, wire);
    const type = mediaType(req);
    const isJson = type === 'application/json';
    const isMsgpack = MSGPACK_TYPES.has(type);
    if (!isJson && !isMsgpack && !NDJSON_TYPES.has(type)) {
      ingestor.reject(ictx, 'unsupported_media_type');
      throw new HttpError(415, 'unsupported_media_type', `Content-Type "${type || '(none)'}" is not accepted here; send application/json, application/x-ndjson or application/msgpack`);
    }
    let body: Buffer;
    try {
      body = await decodeBody(req, config.ingest.max_body_bytes);
    } catch (err) {
      if (err instanceof HttpError) ingestor.reject(ictx, err.code);
      throw err;
    }
    const tag = tagOf(req);
    const mapping: MappingContext = { tenant: principal.tenant, nowNs: nowNs(), tagField, keepRaw: config.ingest.keep_raw };
    const out = new Collector(ingestor, ictx);
    if (isMsgpack) {
      parseMsgpack(body, tag, mapping, config, ingestor, out, ictx);
    } else {
      parseJsonBody(body.toString('utf8'), isJson, (value) => {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'a record must be a JSON object' };
        const record = value as Record<string, unknown>;
        const date = record[DATE_KEY] === undefined ? undefined : parseTimestamp(record[DATE_KEY]);
        if (date !== undefined) delete record[DATE_KEY];
        return recordFromFluent(tag, date, record, null, mapping);
      }, limits, out);
    }
    await ingestor.submit(out.records, ictx, out.bytes || wire);
    const result: IngestResult = { accepted: out.records.length, rejected: out.rejected, errors: out.errors };
    if (out.rejected > out.errors.length) result.errors_truncated = true;
    return reply.code(200).send(result);
  };
  ctx.http.post('/api/v1/fluent', handler);
  ctx.http.post('/api/v1/fluent/:tag', handler);
}
