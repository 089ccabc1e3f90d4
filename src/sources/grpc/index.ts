/**
 * The shared gRPC server on sources.grpc.listen (off by default): OTLP/gRPC
 * and the agent stream.
 *
 * Design note: Cairn owns the listening socket (a net.Server, which enforces
 * max_connections and lets the count be seen) and hands each accepted
 * connection to grpc-js through its connection injector; grpc-js does HTTP/2,
 * TLS, the message size limit (RESOURCE_EXHAUSTED above it), per-connection
 * stream limits and flow control. Open local mode extends to this listener
 * only when it is on loopback too; `auth.mode: auto` falls back to tokens
 * elsewhere, `auth.mode: open` refuses to start.
 */
import { createServer, type Server as NetServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from '../../config/load.ts';
import { readKeyFile } from '../../config/base.ts';
import type { Authenticator } from '../../api/auth.ts';
import { isLoopback, splitHostPort } from '../../server/server.ts';
import { sources, type Source, type SourceContext } from '../source.ts';
import { grpcServices, type GrpcService } from './registry.ts';
import { UNKNOWN_TENANT } from './status.ts';

/** The gRPC listener's authenticator: open mode never reaches past loopback. */
export function grpcAuthenticator(ctx: SourceContext, listen: string): Authenticator {
  if (ctx.auth.mode !== 'open' || isLoopback(splitHostPort(listen).host)) return ctx.auth;
  if (ctx.config.auth.mode === 'open') {
    throw new ConfigError(
      [`auth.mode: "open" is only allowed on loopback addresses, but sources.grpc.listen is ${listen}; create tokens (cairn token create) and use auth.mode: token`],
      'sources.grpc',
    );
  }
  return { ...ctx.auth, mode: 'token' };
}

function credentials(tls: { cert: string; key: string } | null): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const cert = readKeyFile('sources.grpc.tls.cert', tls.cert);
  const key = readKeyFile('sources.grpc.tls.key', tls.key);
  return grpc.ServerCredentials.createSsl(null, [{ cert_chain: cert, private_key: key }], false);
}

export function createGrpcSource(ctx: SourceContext): Source {
  const cfg = ctx.config.sources.grpc;
  const grpcAuth = cfg.listen ? grpcAuthenticator(ctx, cfg.listen) : ctx.auth;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': cfg.max_message_bytes,
    'grpc.max_send_message_length': cfg.max_message_bytes,
    'grpc.max_concurrent_streams': cfg.max_concurrent_streams,
    // Agents hold streams open for days; keepalive pings find dead peers.
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
  });
  // Services are created even without a listener: some add HTTP routes (agent configs).
  const services: GrpcService[] = grpcServices.names().map((name) => grpcServices.get(name)({ ...ctx, grpcAuth }));
  for (const s of services) server.addService(s.definition, s.implementation);
  let listener: NetServer | null = null;
  let injector: grpc.ConnectionInjector | null = null;

  return {
    name: 'grpc',
    async start() {
      if (!cfg.listen) return;
      const { host, port } = splitHostPort(cfg.listen);
      const conn = server.createConnectionInjector(credentials(cfg.tls));
      injector = conn;
      const net = createServer((socket) => conn.injectConnection(socket));
      net.maxConnections = cfg.max_connections;
      net.on('drop', () => ctx.ingestor.reject({ source: 'grpc', tenant: UNKNOWN_TENANT }, 'too_many_connections'));
      await new Promise<void>((resolve, reject) => {
        net.once('error', reject);
        net.listen({ host, port }, () => {
          net.off('error', reject);
          resolve();
        });
      });
      listener = net;
      const address = net.address();
      ctx.logger.info({ listen: typeof address === 'object' && address ? `${address.address}:${address.port}` : cfg.listen, tls: !!cfg.tls }, 'gRPC listening');
    },
    async stop() {
      listener?.close();
      // Long-lived calls answer what they have in flight and end with UNAVAILABLE first.
      await Promise.all(services.map((s) => s.stop?.()));
      const grace = ctx.config.server.shutdown_timeout;
      injector?.drain(grace);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, grace);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      injector?.destroy();
    },
  };
}

sources.register('grpc', createGrpcSource);
