/**
 * Loki push API: POST /loki/api/v1/push, so Promtail, Grafana Alloy and every
 * Loki client library ship to Cairn unchanged. Answers as Loki does: 204 once
 * the entries are durable, 400 naming the problem, 429 with Retry-After when
 * the tenant is over its rate or the queue is full (Promtail and Alloy retry).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LogRecord } from '../../record/record.ts';
import { nowNs } from '../../record/time.ts';
import { authorize } from '../../api/auth.ts';
import { decodeBody, mediaType } from '../../api/body.ts';
import { HttpError } from '../../api/errors.ts';
import { byteLength, truncateUtf8 } from '../http/index.ts';
import { sources, type Source, type SourceContext } from '../source.ts';
import type { IngestContext } from '../ingestor.ts';
import { decodeJsonPush, decodeProtobufPush, type LokiStream } from './decode.ts';
import { lokiRecord, streamFields } from './mapping.ts';

export const LOKI_PUSH_PATH = '/loki/api/v1/push';

/** Loki reads any body that is not JSON as snappy protobuf; so does Cairn, for the types clients use. */
const PROTOBUF_TYPES = new Set(['application/x-protobuf', 'application/protobuf', 'application/octet-stream', '']);

export function createLokiSource(ctx: SourceContext): Source {
  const { config, ingestor, auth } = ctx;
  const options = config.sources.loki;
  const maxLine = config.ingest.max_line_bytes;
  const maxBody = config.ingest.max_body_bytes;

  const decode = async (req: FastifyRequest, ictx: IngestContext): Promise<LokiStream[]> => {
    const type = mediaType(req);
    try {
      if (type !== 'application/json' && !PROTOBUF_TYPES.has(type)) {
        throw new HttpError(415, 'unsupported_media_type', `Content-Type "${type}" is not a Loki push body; send application/x-protobuf (snappy) or application/json`);
      }
      const body = await decodeBody(req, maxBody);
      return type === 'application/json' ? decodeJsonPush(body, options.max_labels) : await decodeProtobufPush(body, maxBody, options.max_labels);
    } catch (err) {
      if (err instanceof HttpError) ingestor.reject(ictx, err.code);
      throw err;
    }
  };

  if (options.enabled) {
    ctx.http.post(LOKI_PUSH_PATH, async (req: FastifyRequest, reply: FastifyReply) => {
      const principal = authorize(auth, req, 'ingest');
      const ictx: IngestContext = { source: 'loki', tenant: principal.tenant };
      ingestor.received(ictx, Buffer.isBuffer(req.body) ? req.body.length : 0);
      const streams = await decode(req, ictx);
      const now = nowNs();
      const records: LogRecord[] = [];
      let bytes = 0;
      let total = 0;
      const refusals: string[] = [];
      for (const stream of streams) {
        const fields = streamFields(stream.labels);
        for (const entry of stream.entries) {
          total++;
          const record = lokiRecord(fields, entry, principal.tenant, now);
          if (byteLength(record.message, maxLine) > maxLine) {
            if (config.ingest.oversize_action === 'reject') {
              ingestor.reject(ictx, 'line_too_long');
              refusals.push(`a line is longer than ${maxLine} bytes (ingest.max_line_bytes)`);
              continue;
            }
            record.message = truncateUtf8(record.message, maxLine);
            record.attrs.truncated = true;
            ingestor.reject(ictx, 'truncated');
          }
          const refused = ingestor.admit(record, ictx);
          if (refused) {
            ingestor.reject(ictx, refused);
            refusals.push('a timestamp is outside the accepted window (ingest.max_future, ingest.max_past)');
            continue;
          }
          records.push(record);
          bytes += record.message.length;
        }
      }
      await ingestor.submit(records, ictx, bytes);
      if (refusals.length > 0) {
        // Loki's answer to a partly invalid push: the valid entries are stored, the rest is named.
        const reasons = [...new Set(refusals)].join('; ');
        throw new HttpError(400, 'entries_refused', `${refusals.length} of ${total} entries were refused (${reasons}); the other ${records.length} were stored`);
      }
      return reply.code(204).send();
    });
  }

  return {
    name: 'loki',
    start: async () => undefined,
    stop: async () => undefined,
  };
}

sources.register('loki', createLokiSource);
