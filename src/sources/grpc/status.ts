/**
 * gRPC errors the way HTTP routes make them: the same describeError mapping
 * (so a full queue, a rate limit or a bad body mean the same on both), turned
 * into a gRPC status; retryable refusals carry google.rpc.RetryInfo in
 * grpc-status-details-bin, as the OTLP specification asks.
 */
import * as grpc from '@grpc/grpc-js';
import type { Principal, Role } from '../../auth/tokens.ts';
import { authorizeToken, type Authenticator } from '../../api/auth.ts';
import { describeError } from '../../api/app.ts';
import { protoType } from './proto.ts';

const Status = grpc.status;

export interface GrpcError extends Partial<grpc.StatusObject> {
  code: grpc.status;
  details: string;
  /** Seconds the client should wait before retrying, when the refusal is temporary. */
  retryAfterSeconds?: number;
}

/** A status whose trailers carry RetryInfo when retryAfterSeconds is set. */
export function grpcStatus(code: grpc.status, details: string, retryAfterSeconds?: number): GrpcError & { metadata: grpc.Metadata } {
  const metadata = new grpc.Metadata();
  if (retryAfterSeconds !== undefined) {
    const RetryInfo = protoType('google.rpc.RetryInfo');
    const StatusMsg = protoType('google.rpc.Status');
    const retry = RetryInfo.encode({ retryDelay: { seconds: retryAfterSeconds, nanos: 0 } }).finish();
    const status = StatusMsg.encode({
      code,
      message: details,
      details: [{ type_url: 'type.googleapis.com/google.rpc.RetryInfo', value: retry }],
    }).finish();
    metadata.set('grpc-status-details-bin', Buffer.from(status));
  }
  return { code, details, metadata, retryAfterSeconds };
}

/** HTTP status (from describeError) → gRPC code, following the gRPC/HTTP mapping and OTLP's retry rules. */
export function grpcStatusFromError(err: unknown, retryAfterDefault: number): GrpcError & { metadata: grpc.Metadata } {
  const d = describeError(err, retryAfterDefault);
  const retryAfter = d.headers['retry-after'] !== undefined ? Number(d.headers['retry-after']) : undefined;
  switch (d.status) {
    case 400:
    case 415:
      return grpcStatus(Status.INVALID_ARGUMENT, d.message);
    case 401:
      return grpcStatus(Status.UNAUTHENTICATED, d.message);
    case 403:
      return grpcStatus(Status.PERMISSION_DENIED, d.message);
    case 404:
      return grpcStatus(Status.NOT_FOUND, d.message);
    case 413:
      return grpcStatus(Status.RESOURCE_EXHAUSTED, d.message);
    case 429:
      // A tenant over its rate is RESOURCE_EXHAUSTED (retryable because RetryInfo says so);
      // a full queue is the server being busy: UNAVAILABLE.
      return grpcStatus(d.code === 'rate_limited' ? Status.RESOURCE_EXHAUSTED : Status.UNAVAILABLE, d.message, retryAfter);
    case 503:
      return grpcStatus(Status.UNAVAILABLE, d.message, retryAfter);
    default:
      return grpcStatus(Status.INTERNAL, d.message);
  }
}

export function metadataText(metadata: grpc.Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' && v ? v : undefined;
}

/** The token of a call: `authorization: Bearer <token>` or `x-cairn-token` metadata. */
export function tokenFromMetadata(metadata: grpc.Metadata): string | undefined {
  const header = metadataText(metadata, 'authorization');
  if (header) {
    const [scheme, value] = header.split(/\s+/, 2);
    if (scheme?.toLowerCase() === 'bearer' && value) return value;
  }
  return metadataText(metadata, 'x-cairn-token');
}

/** The principal of a call, or the gRPC status that refuses it. */
export function authorizeCall(
  auth: Authenticator,
  metadata: grpc.Metadata,
  role: Role,
): { principal: Principal } | { error: GrpcError; reason: 'unauthorized' | 'forbidden' } {
  const result = authorizeToken(auth, tokenFromMetadata(metadata), role);
  if (result.ok) return { principal: result.principal };
  const message = result.reason === 'missing' ? 'a token is required: send "authorization: Bearer <token>" metadata' : result.message;
  return { error: grpcStatus(result.denied === 'forbidden' ? Status.PERMISSION_DENIED : Status.UNAUTHENTICATED, message), reason: result.denied };
}

export { UNKNOWN_TENANT } from '../ingestor.ts';
