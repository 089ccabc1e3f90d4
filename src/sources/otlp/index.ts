/**
 * OpenTelemetry logs: OTLP/HTTP `POST /v1/logs` (protobuf or JSON, optionally
 * gzip) on the main HTTP server, and OTLP/gRPC
 * `opentelemetry.proto.collector.logs.v1.LogsService/Export` on the shared gRPC
 * server. Both answer only after the accepted records are durable; records
 * refused one by one (too long, timestamp out of range) are reported as
 * partial_success, a request refused as a whole gets the OTLP error shape:
 * google.rpc.Status with 400/401/403/413/415, or 429/503 + Retry-After over
 * HTTP, RESOURCE_EXHAUSTED/UNAVAILABLE + RetryInfo over gRPC.
 */
import type * as grpc from '@grpc/grpc-js';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { authorize } from '../../api/auth.ts';
import { describeError } from '../../api/app.ts';
import { decodeBody, mediaType } from '../../api/body.ts';
import { HttpError } from '../../api/errors.ts';
import type { CairnConfig } from '../../config/schema.ts';
import type { LogRecord } from '../../record/record.ts';
import { otlpToRecords, type OtlpExportRequest } from '../../record/normalize/otlp.ts';
import { nowNs } from '../../record/time.ts';
import { byteLength, truncateUtf8 } from '../http/index.ts';
import type { IngestContext, Ingestor } from '../ingestor.ts';
import { sources, type Source, type SourceContext } from '../source.ts';
import { grpcServices, serviceDefinition, type GrpcServiceContext } from '../grpc/registry.ts';
import { UNKNOWN_TENANT, authorizeCall, grpcStatusFromError } from '../grpc/status.ts';
import { decodeOtlpJson, decodeOtlpProtobuf, encodeOtlpResponse, encodeRpcStatus, type OtlpResponse } from './decode.ts';

const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

/**
 * Maps a request, applies the per-record limits (body size, timestamp
 * window), stores what passes and resolves once it is durable.
 */
export async function ingestOtlp(request: OtlpExportRequest, ingestor: Ingestor, ictx: IngestContext, config: CairnConfig, bytes: number): Promise<OtlpResponse> {
  const records = otlpToRecords(request, { tenant: ictx.tenant, nowNs: nowNs() });
  const max = config.ingest.max_line_bytes;
  const kept: LogRecord[] = [];
  let rejected = 0;
  let firstError = '';
  const refuse = (index: number, reason: string, text: string) => {
    rejected++;
    ingestor.reject(ictx, reason);
    if (!firstError) firstError = `log record ${index}: ${text}`;
  };
  records.forEach((r, i) => {
    if (byteLength(r.message, max) > max) {
      if (config.ingest.oversize_action === 'reject') {
        refuse(i, 'line_too_long', `body is longer than ${max} bytes (ingest.max_line_bytes)`);
        return;
      }
      r.message = truncateUtf8(r.message, max);
      r.attrs.truncated = true;
      ingestor.reject(ictx, 'truncated');
    }
    const refused = ingestor.admit(r, ictx);
    if (refused) {
      refuse(i, refused, 'timestamp is outside the accepted window (ingest.max_future, ingest.max_past)');
      return;
    }
    kept.push(r);
  });
  await ingestor.submit(kept, ictx, bytes);
  if (rejected === 0) return {};
  const more = rejected > 1 ? ` (first of ${rejected} rejected records)` : '';
  return { partialSuccess: { rejectedLogRecords: rejected, errorMessage: `${firstError}${more}` } };
}

export function createOtlpHttpSource(ctx: SourceContext): Source {
  const { config, ingestor, auth } = ctx;
  const retryAfter = config.queue.retry_after_seconds;

  /** Every failure of /v1/logs as google.rpc.Status, in the request's encoding. */
  const errorHandler = (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const d = describeError(err, retryAfter);
    if (d.status === 401 || d.status === 403) ingestor.reject({ source: 'otlp_http', tenant: UNKNOWN_TENANT }, d.code);
    const code = grpcStatusFromError(err, retryAfter).code;
    const json = mediaType(req) !== PROTOBUF;
    void reply
      .code(d.status)
      .headers(d.headers)
      .header('content-type', json ? JSON_TYPE : PROTOBUF)
      .send(encodeRpcStatus(code, d.message, json));
  };

  ctx.http.post('/v1/logs', { errorHandler }, async (req: FastifyRequest, reply: FastifyReply) => {
    const principal = authorize(auth, req, 'ingest');
    const ictx: IngestContext = { source: 'otlp_http', tenant: principal.tenant };
    ingestor.received(ictx, Buffer.isBuffer(req.body) ? req.body.length : 0);
    const type = mediaType(req);
    if (type !== PROTOBUF && type !== JSON_TYPE) {
      ingestor.reject(ictx, 'unsupported_media_type');
      throw new HttpError(415, 'unsupported_media_type', `Content-Type "${type || '(none)'}" is not OTLP; send ${PROTOBUF} or ${JSON_TYPE}`);
    }
    let request: OtlpExportRequest;
    let body: Buffer;
    try {
      body = await decodeBody(req, config.ingest.max_body_bytes);
      request = type === JSON_TYPE ? decodeOtlpJson(body) : decodeOtlpProtobuf(body);
    } catch (err) {
      if (err instanceof HttpError) ingestor.reject(ictx, err.code);
      throw err;
    }
    const response = await ingestOtlp(request, ingestor, ictx, config, body.length);
    return reply
      .code(200)
      .header('content-type', type)
      .send(encodeOtlpResponse(response, type === JSON_TYPE));
  });

  return { name: 'otlp', start: async () => undefined, stop: async () => undefined };
}

export function createOtlpGrpcService(ctx: GrpcServiceContext) {
  const { config, ingestor, grpcAuth } = ctx;
  const retryAfter = config.queue.retry_after_seconds;
  return {
    definition: serviceDefinition('opentelemetry.proto.collector.logs.v1.LogsService'),
    implementation: {
      Export(call: grpc.ServerUnaryCall<Buffer, OtlpResponse>, callback: grpc.sendUnaryData<OtlpResponse>) {
        const auth = authorizeCall(grpcAuth, call.metadata, 'ingest');
        if ('error' in auth) {
          ingestor.reject({ source: 'otlp_grpc', tenant: UNKNOWN_TENANT }, auth.reason);
          callback(auth.error);
          return;
        }
        const ictx: IngestContext = { source: 'otlp_grpc', tenant: auth.principal.tenant };
        ingestor.received(ictx, call.request.length);
        let request: OtlpExportRequest;
        try {
          request = decodeOtlpProtobuf(call.request);
        } catch (err) {
          ingestor.reject(ictx, 'invalid_protobuf');
          callback(grpcStatusFromError(err, retryAfter));
          return;
        }
        ingestOtlp(request, ingestor, ictx, config, call.request.length).then(
          (response) => callback(null, response),
          (err: unknown) => callback(grpcStatusFromError(err, retryAfter)),
        );
      },
    },
  };
}

sources.register('otlp', createOtlpHttpSource);
grpcServices.register('otlp', createOtlpGrpcService);
