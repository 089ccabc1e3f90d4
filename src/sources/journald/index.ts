/**
 * journald upload: what systemd-journal-remote serves, so systemd-journal-upload
 * ships a machine's journal straight to Cairn. POST /upload with
 * Content-Type application/vnd.fdo.journal, one long chunked request in the
 * journal export format; answered 202 "OK." once every entry is durable (the
 * uploader saves its cursor only then), 4xx with a text reason otherwise.
 *
 * Design note: an upload is a whole journal, so it is parsed as it streams and
 * handed to the store in batches; while a batch waits (queue full, tenant over
 * its rate) the body is not read, so TCP holds the uploader back: the
 * protocol's own backpressure. Only after `backpressure_timeout` does the
 * upload fail with 429 (the uploader exits and systemd restarts it from its
 * saved cursor). Entries stored before a failure are kept, and the retry
 * sends them again: at least once, with the same derived record ids.
 *
 * Tenancy: systemd-journal-upload cannot send a token. It authenticates with
 * a TLS client certificate, so the HTTPS listener (`tls_listen`) maps the
 * certificate's CN to a tenant. On the main (plain HTTP) listener an upload
 * is open local mode's tenant, a token's tenant (a proxy can add one), or the
 * configured `tenant` for addresses in `trusted_networks`.
 */
import { isUtf8 } from 'node:buffer';
import { BlockList, isIPv4 } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { LogRecord } from '../../record/record.ts';
import { normalizeJournalEntry, type JournalEntry } from '../../record/normalize/journald.ts';
import { nowNs } from '../../record/time.ts';
import { authorize, tokenFromRequest, type Authenticator } from '../../api/auth.ts';
import { mediaType } from '../../api/body.ts';
import { HttpError } from '../../api/errors.ts';
import { describeError } from '../../api/app.ts';
import { parseCidr } from '../../config/schema.ts';
import { isLoopback, splitHostPort } from '../../server/server.ts';
import { ConfigError } from '../../config/load.ts';
import { readKeyFile } from '../../config/base.ts';
import { sources, type Source, type SourceContext } from '../source.ts';
import type { IngestContext } from '../ingestor.ts';
import { ExportFormatError, JournalExportParser, type ExportLimits, type ParsedEntry } from './export.ts';

const JOURNAL_TYPE = 'application/vnd.fdo.journal';

type TenantOf = (req: FastifyRequest) => string;

const pem = (key: string, path: string | null): Buffer => readKeyFile(`sources.journald.${key}`, path!);

/**
 * What the text mapping would lose, kept in attrs: binary fields that are not
 * UTF-8 keep their exact bytes as {"base64": "..."} (MESSAGE too, beside the
 * text message), and a field repeated within the entry keeps all its values.
 */
function keepExactValues(record: LogRecord, fields: JournalEntry): void {
  for (const [key, value] of Object.entries(fields)) {
    if (Buffer.isBuffer(value) && !isUtf8(value)) record.attrs[key] = { base64: value.toString('base64') };
    else if (Array.isArray(value)) record.attrs[key] = value as string[];
  }
}

export function createJournaldSource(ctx: SourceContext): Source {
  const { config, ingestor, auth } = ctx;
  const options = config.sources.journald;
  const limits: ExportLimits = {
    maxFieldBytes: config.ingest.max_line_bytes,
    maxEntryBytes: options.max_entry_bytes,
    maxFields: options.max_fields,
    oversize: config.ingest.oversize_action,
  };
  const stopping = new AbortController();
  const trusted = new BlockList();
  for (const network of options.trusted_networks) {
    const n = parseCidr(network)!;
    trusted.addSubnet(n.address, n.prefix, n.family);
  }

  const isTrusted = (address: string | undefined): boolean => {
    if (!address) return false;
    const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
    return isIPv4(v4) ? trusted.check(v4, 'ipv4') : trusted.check(address, 'ipv6');
  };

  /** Plain HTTP: open mode's tenant, a token's, or the configured tenant for trusted networks. */
  const plainHttpTenant =
    (listenerAuth: Authenticator): TenantOf =>
    (req) => {
      if (listenerAuth.mode === 'open' || tokenFromRequest(req)) return authorize(listenerAuth, req, 'ingest').tenant;
      if (options.tenant === null) {
        throw new HttpError(
          401,
          'unauthorized',
          'an upload needs a tenant: systemd-journal-upload cannot send a token, so set sources.journald.tenant (for trusted_networks) or use the HTTPS listener with client certificates (sources.journald.tls_listen)',
        );
      }
      if (!isTrusted(req.socket.remoteAddress)) {
        throw new HttpError(403, 'forbidden', `${req.socket.remoteAddress} is not in sources.journald.trusted_networks; use the HTTPS listener with a client certificate`);
      }
      return options.tenant;
    };

  const certificateTenant: TenantOf = (req) => {
    const cert = (req.raw.socket as TLSSocket).getPeerCertificate();
    const cn = cert?.subject?.CN;
    const name = Array.isArray(cn) ? cn[0] : cn;
    const tenant = (name !== undefined && Object.hasOwn(options.tls_tenants, name) ? options.tls_tenants[name] : undefined) ?? options.tls_default_tenant;
    if (tenant === null || tenant === undefined) {
      throw new HttpError(403, 'forbidden', `client certificate CN=${JSON.stringify(name ?? '')} maps to no tenant (sources.journald.tls_tenants, tls_default_tenant)`);
    }
    return tenant;
  };

  const upload = async (req: FastifyRequest, reply: FastifyReply, tenantOf: TenantOf) => {
    const ictx: IngestContext = { source: 'journald', tenant: tenantOf(req) };
    const type = mediaType(req);
    if (type !== JOURNAL_TYPE) {
      ingestor.received(ictx, Buffer.isBuffer(req.body) ? req.body.length : 0);
      ingestor.reject(ictx, 'unsupported_media_type');
      throw new HttpError(415, 'unsupported_media_type', `Content-Type: ${JOURNAL_TYPE} is required.`);
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      ingestor.reject(ictx, 'unsupported_media_type');
      throw new HttpError(415, 'unsupported_encoding', `Content-Encoding "${encoding}" is not supported for journal uploads`);
    }
    const parser = new JournalExportParser(limits);
    const batch: LogRecord[] = [];
    let batchBytes = 0;
    let stored = 0;
    let refused = 0;
    const take = (entries: ParsedEntry[]) => {
      if (entries.length === 0) return;
      const now = nowNs();
      for (const e of entries) {
        if (e.refused) {
          ingestor.reject(ictx, e.refused);
          refused++;
          continue;
        }
        const record = normalizeJournalEntry(e.fields, now, config.ingest.keep_raw);
        record.tenant = ictx.tenant;
        keepExactValues(record, e.fields);
        if (e.truncated) {
          record.attrs.truncated = true;
          ingestor.reject(ictx, 'truncated');
        }
        const outside = ingestor.admit(record, ictx);
        if (outside) {
          ingestor.reject(ictx, outside);
          refused++;
          continue;
        }
        batch.push(record);
        batchBytes += e.bytes;
      }
    };
    /** Stores full batches (every entry when `all`), each before the next is read from the body. */
    const flush = async (all: boolean) => {
      while (batch.length >= options.batch_entries || (all && batch.length > 0)) {
        const part = batch.splice(0, options.batch_entries);
        const partBytes = Math.round((batchBytes * part.length) / (part.length + batch.length));
        await ingestor.submitWaiting(part, ictx, partBytes, options.backpressure_timeout, stopping.signal);
        stored += part.length;
        batchBytes -= partBytes;
      }
    };
    try {
      // Not destroyed on an early exit: the error answer still has to reach the uploader.
      for await (const chunk of (req.body as Readable).iterator({ destroyOnReturn: false })) {
        ingestor.received(ictx, (chunk as Buffer).length);
        take(parser.push(chunk as Buffer));
        await flush(false);
      }
      take(parser.end());
      await flush(true);
    } catch (err) {
      if (err instanceof ExportFormatError) {
        ingestor.reject(ictx, 'corrupt_body');
        throw new HttpError(400, 'corrupt_body', `${err.message}; the ${stored} entries before it were stored`);
      }
      throw err;
    }
    const note = refused > 0 ? ` ${refused} entries were refused (over sources.journald limits, ingest.max_line_bytes or the time window).` : '';
    return reply.code(202).type('text/plain').send(`OK. ${stored} entries stored.${note}\n`);
  };

  /** The /upload route with its streaming body and text errors, on the main server or the HTTPS listener. */
  const routes = (tenantOf: TenantOf) => async (app: FastifyInstance) => {
    app.addContentTypeParser(JOURNAL_TYPE, (_req, payload, done) => done(null, payload));
    app.setErrorHandler((err, _req, reply) => {
      const d = describeError(err, config.queue.retry_after_seconds);
      if (d.code === 'internal_error') ctx.logger.error({ err }, 'journal upload failed');
      // The rest of a refused upload is not read: close the connection after the answer.
      void reply.code(d.status).headers({ ...d.headers, connection: 'close' }).type('text/plain').send(`${d.message}\n`);
    });
    app.post('/upload', (req, reply) => upload(req, reply, tenantOf));
  };

  if (options.enabled) ctx.http.register(routes(plainHttpTenant(auth)));

  // Open local mode reaches the dedicated listener only on loopback (as for every listener).
  let listenAuth = auth;
  if (options.listen !== null && auth.mode === 'open' && !isLoopback(splitHostPort(options.listen).host)) {
    if (config.auth.mode === 'open') {
      throw new ConfigError(
        [`auth.mode: "open" is only allowed on loopback addresses, but sources.journald.listen is ${options.listen}; use auth.mode: token with sources.journald.tenant`],
        'sources.journald',
      );
    }
    listenAuth = { ...auth, mode: 'token' };
  }

  const listeners: FastifyInstance[] = [];
  /**
   * A listener of its own: an upload is a whole journal, so no time limit on
   * receiving it (the main listener has one), only on a connection where
   * nothing moves for longer than any backpressure wait.
   */
  const listen = async (address: string, https: object | null, tenantOf: TenantOf, maxConnections: number) => {
    const app = Fastify({
      logger: false,
      bodyLimit: config.ingest.max_body_bytes,
      requestTimeout: 0,
      connectionTimeout: Math.max(300_000, options.backpressure_timeout * 2),
      keepAliveTimeout: 65_000,
      ...(https ? { https } : {}),
    });
    app.server.maxConnections = maxConnections;
    await app.register(routes(tenantOf));
    listeners.push(app);
    const { host, port } = splitHostPort(address);
    await app.listen({ host, port });
  };

  return {
    name: 'journald',
    async start() {
      if (options.listen !== null) await listen(options.listen, null, plainHttpTenant(listenAuth), options.max_connections);
      if (options.tls_listen !== null) {
        const https = {
          cert: pem('tls_cert', options.tls_cert),
          key: pem('tls_key', options.tls_key),
          ca: pem('tls_client_ca', options.tls_client_ca),
          requestCert: true,
          rejectUnauthorized: true,
        };
        await listen(options.tls_listen, https, certificateTenant, options.max_connections);
      }
    },
    async stop() {
      stopping.abort();
      await Promise.all(listeners.map((app) => app.close()));
    },
  };
}

sources.register('journald', createJournaldSource);
