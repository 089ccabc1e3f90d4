/**
 * The syslog source: RFC 3164 and RFC 5424 over UDP, TCP (RFC 6587 framing)
 * and TLS (RFC 5425), on the listeners set in sources.syslog.
 *
 * Design note: syslog carries no credentials, so the tenant is decided by the
 * server: a TLS client certificate mapped by client_cert_tenants, else the
 * listener's configured tenant. Only where the foundation allows open local
 * mode (auth open/auto on loopback) and only on a loopback listener does that
 * default to auth.open_tenant; anything else without a tenant is refused at
 * start-up, naming the key. A hostname or tenant inside a message is data,
 * never a credential.
 */
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { ConfigError } from '../../config/load.ts';
import type { CairnConfig } from '../../config/schema.ts';
import { isLoopback, splitHostPort } from '../../server/server.ts';
import { sources, type Source, type SourceContext } from '../source.ts';
import { UNKNOWN_TENANT, type IngestContext } from '../ingestor.ts';
import { peerAddress } from './batch.ts';
import { InFlightBudget, StreamConnection, type StreamOptions } from './stream.ts';
import { UdpListener } from './udp.ts';
import { tenantForCertificate } from './tls.ts';

const SOURCE = 'syslog';
/** A TLS handshake must finish in this time; a client stalling it only holds one connection slot meanwhile. */
const HANDSHAKE_TIMEOUT_MS = 30_000;

type Transport = 'udp' | 'tcp' | 'tls';
type SyslogConfig = CairnConfig['sources']['syslog'];

interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
}

export function createSyslogSource(ctx: SourceContext): Source {
  const { config, ingestor, metrics, logger, auth } = ctx;
  const cfg = config.sources.syslog;
  const problems: string[] = [];
  /** Tenant of input without a client certificate, per listener; null: such input is refused. */
  const tenants = new Map<Transport, string | null>();
  for (const transport of ['udp', 'tcp', 'tls'] as const) {
    const listen = cfg[transport];
    if (listen === null) continue;
    const tenant = cfg.tenant ?? (auth.mode === 'open' && isLoopback(splitHostPort(listen).host) ? auth.openTenant : null);
    const certificatesDecide = transport === 'tls' && cfg.tls_ca !== null && Object.keys(cfg.client_cert_tenants).length > 0;
    if (tenant === null && !certificatesDecide) {
      problems.push(
        `sources.syslog.tenant: the syslog ${transport} listener on ${listen} needs a tenant: syslog carries no credentials, so set ` +
          `sources.syslog.tenant${transport === 'tls' ? ' (or tls_ca and client_cert_tenants to map client certificates)' : ''}; ` +
          `only a loopback listener in open local mode defaults to auth.open_tenant`,
      );
    }
    tenants.set(transport, tenant);
  }
  const tlsMaterial = cfg.tls !== null ? readTlsMaterial(cfg, problems) : undefined;
  if (Object.keys(cfg.client_cert_tenants).length > 0 && cfg.tls_ca === null) {
    problems.push('sources.syslog.client_cert_tenants: client certificates are only verified with sources.syslog.tls_ca set');
  }
  if (problems.length > 0) throw new ConfigError(problems, 'sources.syslog');

  const options: StreamOptions = {
    os: cfg.os,
    keepRaw: config.ingest.keep_raw,
    batchRecords: cfg.batch_records,
    lingerMs: cfg.batch_linger_ms,
    maxMessageBytes: cfg.max_message_bytes ?? config.ingest.max_line_bytes,
    oversize: config.ingest.oversize_action,
    idleTimeoutMs: cfg.idle_timeout,
  };
  // A quarter of the queue's bounds: room stays for other sources, and TCP syslog waits instead of being refused.
  const budget = new InFlightBudget(Math.max(1, Math.floor(config.queue.max_records / 4)), Math.max(1, Math.floor(config.queue.max_bytes / 4)));
  const connections = new Set<StreamConnection>();
  const servers: Server[] = [];
  let udp: UdpListener | null = null;

  const accept = (socket: Socket, tenant: string) => {
    const peer = peerAddress(socket.remoteAddress);
    const ictx: IngestContext = { source: SOURCE, tenant };
    socket.setKeepAlive(true, 60_000);
    const conn = new StreamConnection(socket, ictx, peer, { ingestor, metrics, logger, options, budget });
    connections.add(conn);
    socket.once('close', () => connections.delete(conn));
  };

  const track = (server: Server, transport: 'tcp' | 'tls', tenantLabel: string) => {
    server.maxConnections = cfg.max_connections;
    server.on('connection', (socket: Socket) => {
      metrics.sourceConnections.inc({ source: SOURCE });
      socket.once('close', () => metrics.sourceConnections.dec({ source: SOURCE }));
    });
    server.on('drop', () => ingestor.reject({ source: SOURCE, tenant: tenantLabel }, 'too_many_connections'));
    servers.push(server);
  };

  const listen = async (server: Server, transport: Transport, address: string): Promise<void> => {
    const { host, port } = splitHostPort(address);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port }, () => {
          server.off('error', reject);
          server.on('error', (err) => logger.error({ err, transport }, 'syslog: listener error'));
          resolve();
        });
      });
    } catch (err) {
      throw listenError(transport, address, err as NodeJS.ErrnoException);
    }
  };

  return {
    name: SOURCE,
    async start() {
      if (cfg.udp !== null) {
        const { host, port } = splitHostPort(cfg.udp);
        udp = new UdpListener(host, port, { source: SOURCE, tenant: tenants.get('udp')! }, { ingestor, metrics, logger, options: { ...options, receiveBuffer: cfg.udp_receive_buffer } });
        try {
          const bound = await udp.listen();
          logger.info({ transport: 'udp', host, port: bound, tenant: tenants.get('udp') }, 'syslog listener started');
        } catch (err) {
          throw listenError('udp', cfg.udp, err as NodeJS.ErrnoException);
        }
      }
      if (cfg.tcp !== null) {
        const tenant = tenants.get('tcp')!;
        const server = createTcpServer((socket) => accept(socket, tenant));
        track(server, 'tcp', tenant);
        await listen(server, 'tcp', cfg.tcp);
        logger.info({ transport: 'tcp', address: server.address(), tenant }, 'syslog listener started');
      }
      if (cfg.tls !== null && tlsMaterial) {
        const fallback = tenants.get('tls') ?? null;
        const verify = tlsMaterial.ca !== undefined;
        const server = createTlsServer(
          {
            cert: tlsMaterial.cert,
            key: tlsMaterial.key,
            ca: tlsMaterial.ca,
            requestCert: verify,
            rejectUnauthorized: verify,
            handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
          },
          (socket: TLSSocket) => {
            const mapped = verify ? tenantForCertificate(socket.getPeerCertificate(), cfg.client_cert_tenants) : undefined;
            const tenant = mapped ?? fallback;
            if (tenant === null) {
              ingestor.reject({ source: SOURCE, tenant: UNKNOWN_TENANT }, 'unauthorized');
              logger.warn({ peer: socket.remoteAddress, subject: socket.getPeerCertificate().subject }, 'syslog: client certificate maps to no tenant (client_cert_tenants)');
              socket.destroy();
              return;
            }
            accept(socket, tenant);
          },
        );
        server.on('tlsClientError', (err) => {
          ingestor.reject({ source: SOURCE, tenant: UNKNOWN_TENANT }, 'tls_handshake');
          logger.debug({ err: err.message }, 'syslog: TLS handshake failed');
        });
        track(server, 'tls', fallback ?? UNKNOWN_TENANT);
        await listen(server, 'tls', cfg.tls);
        logger.info({ transport: 'tls', address: server.address(), clientCertificates: verify }, 'syslog listener started');
      }
    },
    async stop() {
      const timeout = config.server.shutdown_timeout;
      for (const server of servers) server.close();
      await Promise.all([...[...connections].map((c) => c.shutdown(timeout)), udp?.close(timeout)]);
    },
  };
}

function readTlsMaterial(cfg: SyslogConfig, problems: string[]): TlsMaterial | undefined {
  const read = (key: 'tls_cert' | 'tls_key' | 'tls_ca'): Buffer | undefined => {
    const file = cfg[key];
    if (file === null) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      problems.push(`sources.syslog.${key}: cannot read ${file}: ${(err as Error).message}`);
      return undefined;
    }
  };
  if (cfg.tls_cert === null) problems.push('sources.syslog.tls_cert: the TLS listener needs a certificate (PEM file)');
  if (cfg.tls_key === null) problems.push('sources.syslog.tls_key: the TLS listener needs the certificate\'s private key (PEM file)');
  const cert = read('tls_cert');
  const key = read('tls_key');
  const ca = read('tls_ca');
  if (!cert || !key) return undefined;
  try {
    createSecureContext({ cert, key, ca });
  } catch (err) {
    problems.push(`sources.syslog.tls_cert: the certificate, key or CA is not usable: ${(err as Error).message}`);
    return undefined;
  }
  return { cert, key, ca };
}

function listenError(transport: Transport, address: string, err: NodeJS.ErrnoException): Error {
  const hint =
    err.code === 'EACCES'
      ? ': ports below 1024 need root or CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep on node), or listen on a high port and redirect 514 to it (docs/protocols/syslog.md)'
      : err.code === 'EADDRINUSE'
        ? ': the address is in use (is a system syslog daemon listening there?)'
        : '';
  return new Error(`sources.syslog.${transport}: cannot listen on ${address}: ${err.code ?? err.message}${hint}`);
}

sources.register(SOURCE, createSyslogSource);
