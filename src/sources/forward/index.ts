/**
 * The Fluentd forward protocol source: TCP and TLS listeners speaking forward
 * protocol v1 (Fluent Bit's `forward` output, Fluentd's `out_forward`,
 * fluent-logger clients), an optional UDP heartbeat responder, and the HTTP
 * route for Fluent Bit's and Fluentd's `http` outputs.
 *
 * Design note: who a connection is decides its tenant before it sends a
 * record: a TLS client certificate (verified against tls_ca, mapped by CN or
 * fingerprint), else the shared key it proves in the handshake (HELO is sent
 * on connect whenever shared_keys exist), else — only when require_auth is
 * false, which open local mode on a loopback listener implies — the
 * listener's configured tenant. Connections are independent: one sender's bad
 * input closes only its own connection. One sweeper applies the idle and
 * message timeouts to all connections.
 */
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { ConfigError } from '../../config/load.ts';
import { readKeyFile } from '../../config/base.ts';
import { isLoopback, splitHostPort } from '../../server/server.ts';
import { sources, type Source, type SourceContext } from '../source.ts';
import { ForwardConnection, SOURCE, UNKNOWN_TENANT, type ConnectionSettings } from './connection.ts';
import { registerFluentHttpRoute } from './http.ts';

type ForwardConfig = SourceContext['config']['sources']['forward'];

const readPem = (path: string, key: string): Buffer => readKeyFile(`sources.forward.${key}`, path);

const normalizeFingerprint = (f: string) => f.replaceAll(':', '').toUpperCase();

/** Tenant of a verified client certificate, or null. */
function certificateTenant(socket: TLSSocket, cfg: ForwardConfig): string | null {
  if (!socket.authorized || cfg.client_cert_tenants.length === 0) return null;
  const cert = socket.getPeerCertificate();
  const cn = cert.subject?.CN;
  const fingerprint = cert.fingerprint256 ? normalizeFingerprint(cert.fingerprint256) : '';
  for (const entry of cfg.client_cert_tenants) {
    if (entry.cn !== undefined && entry.cn === cn) return entry.tenant;
    if (entry.fingerprint !== undefined && normalizeFingerprint(entry.fingerprint) === fingerprint) return entry.tenant;
  }
  return null;
}

async function listen(server: Server, address: string): Promise<void> {
  const { host, port } = splitHostPort(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function createForwardSource(ctx: SourceContext): Source {
  const { config, ingestor, logger, metrics } = ctx;
  const cfg = config.sources.forward;
  registerFluentHttpRoute(ctx);

  const settings: ConnectionSettings = {
    ingestor,
    logger,
    sharedKeys: cfg.shared_keys,
    selfHostname: cfg.self_hostname ?? hostname(),
    tagField: cfg.tag_field,
    maxMessageBytes: cfg.max_message_bytes,
    maxRecords: cfg.max_records_per_message,
    maxLineBytes: config.ingest.max_line_bytes,
    oversize: config.ingest.oversize_action,
    keepRaw: config.ingest.keep_raw,
    batchRecords: config.queue.batch_records,
    retryAfterMs: config.queue.retry_after_seconds * 1000,
  };
  const handshake = cfg.shared_keys.length > 0;
  const connections = new Set<ForwardConnection>();
  const servers: Server[] = [];
  let udp: UdpSocket | null = null;
  let sweeper: NodeJS.Timeout | null = null;

  /** Tenant of connections that prove nothing on this listener, or null when they must. */
  const anonymousTenant = (address: string): string | null => {
    const open = ctx.auth.mode === 'open' && isLoopback(splitHostPort(address).host);
    const required = cfg.require_auth ?? !open;
    return required ? null : (cfg.tenant ?? config.auth.open_tenant);
  };

  const refuse = (reason: string, why: string, socket?: Socket) => {
    ingestor.reject({ source: SOURCE, tenant: UNKNOWN_TENANT }, reason);
    logger.warn({ remote: socket?.remoteAddress }, `forward connection refused: ${why}`);
    socket?.destroy();
  };

  const accept = (socket: Socket, certTenant: string | null, anonymous: string | null) => {
    if (connections.size >= cfg.max_connections) return refuse('too_many_connections', 'sources.forward.max_connections reached', socket);
    const tenant = certTenant ?? (handshake ? null : anonymous);
    if (tenant === null && !handshake) return refuse('unauthorized', 'no client certificate maps to a tenant', socket);
    const conn = new ForwardConnection(socket, settings, tenant);
    connections.add(conn);
    metrics.sourceConnections.inc({ source: SOURCE });
    socket.once('close', () => {
      connections.delete(conn);
      metrics.sourceConnections.dec({ source: SOURCE });
    });
  };

  const start = async () => {
    if (cfg.listen) {
      const anonymous = anonymousTenant(cfg.listen);
      if (anonymous === null && !handshake) {
        throw new ConfigError(
          ['sources.forward.listen: connections must authenticate but no shared_keys are configured; add shared_keys, use tls_listen with client_cert_tenants, or set require_auth: false (and a tenant)'],
          'sources.forward',
        );
      }
      const server = createTcpServer((socket) => accept(socket, null, anonymous));
      await listen(server, cfg.listen);
      servers.push(server);
      logger.info({ listen: cfg.listen, handshake, tenant: anonymous }, 'forward protocol listener started');
      if (cfg.udp_heartbeat) udp = await startHeartbeat(cfg.listen);
    }
    if (cfg.tls_listen) {
      const anonymous = anonymousTenant(cfg.tls_listen);
      if (anonymous === null && !handshake && cfg.client_cert_tenants.length === 0) {
        throw new ConfigError(['sources.forward.tls_listen: connections must authenticate but neither shared_keys nor client_cert_tenants are configured'], 'sources.forward');
      }
      const server = createTlsServer(
        {
          cert: readPem(cfg.tls_cert!, 'tls_cert'),
          key: readPem(cfg.tls_key!, 'tls_key'),
          ...(cfg.tls_ca ? { ca: readPem(cfg.tls_ca, 'tls_ca'), requestCert: true } : {}),
          // An unverified certificate is not refused here: the client may still prove a shared key.
          rejectUnauthorized: false,
          handshakeTimeout: cfg.message_timeout,
        },
        (socket) => accept(socket, certificateTenant(socket, cfg), anonymous),
      );
      server.on('tlsClientError', (err, socket) => {
        ingestor.reject({ source: SOURCE, tenant: UNKNOWN_TENANT }, 'tls_error');
        logger.warn({ remote: socket.remoteAddress, err: err.message }, 'forward TLS handshake failed');
      });
      // Refuse the excess before spending a TLS handshake on it.
      server.maxConnections = cfg.max_connections;
      server.on('drop', () => refuse('too_many_connections', 'sources.forward.max_connections reached'));
      await listen(server, cfg.tls_listen);
      servers.push(server);
      logger.info({ listen: cfg.tls_listen, handshake, client_certs: cfg.client_cert_tenants.length, tenant: anonymous }, 'forward protocol TLS listener started');
    }
    if (servers.length > 0) {
      const every = Math.max(50, Math.min(1000, Math.min(cfg.idle_timeout, cfg.message_timeout) / 4));
      sweeper = setInterval(() => {
        const now = performance.now();
        for (const c of connections) c.checkTimeouts(now, cfg.idle_timeout, cfg.message_timeout);
      }, every);
      sweeper.unref();
    }
  };

  const startHeartbeat = async (address: string): Promise<UdpSocket> => {
    const { host, port } = splitHostPort(address);
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    socket.on('message', (msg, peer) => {
      // Fluentd's heartbeat is one 0x00 byte; the answer is the same byte (no amplification).
      if (msg.length === 1 && msg[0] === 0) socket.send(Buffer.from([0]), peer.port, peer.address);
    });
    socket.on('error', (err) => logger.warn({ err }, 'forward UDP heartbeat socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return socket;
  };

  const stop = async () => {
    if (sweeper) clearInterval(sweeper);
    const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    udp?.close();
    // Work in flight finishes (its records are stored and acked) within the shutdown timeout.
    const inFlight = [...connections].map((c) => c.inFlight).filter((p) => p !== null);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(inFlight), new Promise<void>((r) => (timer = setTimeout(r, config.server.shutdown_timeout)))]);
    clearTimeout(timer);
    for (const c of connections) c.destroy();
    await Promise.all(closed);
  };

  return { name: SOURCE, start, stop };
}

sources.register(SOURCE, createForwardSource);
