/**
 * gRPC services (OTLP logs, the agent stream) register here and are served
 * by the one gRPC server of the `grpc` source on sources.grpc.listen.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Authenticator } from '../../api/auth.ts';
import { Registry } from '../../registry.ts';
import type { SourceContext } from '../source.ts';
import { protoRoot } from './proto.ts';

export interface GrpcServiceContext extends SourceContext {
  /** The gRPC listener's authenticator (open mode only when that listener is on loopback). */
  grpcAuth: Authenticator;
}

export interface GrpcService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
  /** Ends long-lived calls cleanly (their in-flight work answered) before the server shuts down. */
  stop?(): Promise<void>;
}

export type GrpcServiceFactory = (ctx: GrpcServiceContext) => GrpcService;
export const grpcServices = new Registry<GrpcServiceFactory>('grpc service');

/**
 * A grpc-js service definition from a service in proto/. The server side gets
 * each request as the raw Buffer, so a handler counts its bytes and answers a
 * message that does not decode with INVALID_ARGUMENT naming the problem; clients
 * (tests, benchmarks) get responses as plain objects with 64-bit values and
 * enums as strings.
 */
export function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  const service = protoRoot().lookupService(fullName);
  const def: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const req = method.resolvedRequestType!;
    const res = method.resolvedResponseType!;
    def[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: (value: object) => Buffer.from(req.encode(req.fromObject(value)).finish()),
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (value: object) => Buffer.from(res.encode(res.fromObject(value)).finish()),
      responseDeserialize: (bytes: Buffer) => res.toObject(res.decode(bytes), { longs: String, enums: String, defaults: true }),
    };
  }
  return def;
}
