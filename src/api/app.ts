/**
 * The HTTP server: Fastify with raw-bytes bodies (each route decodes its own,
 * with limits), one JSON error shape, and the routes every deployment has:
 * /metrics, /healthz, /readyz.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { CairnConfig } from '../config/schema.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Store } from '../store/store.ts';
import type { Queue } from '../queue/queue.ts';
import type { Logger } from '../util/logger.ts';
import { HttpError } from './errors.ts';

export interface AppDeps {
  config: CairnConfig;
  metrics: Metrics;
  store: Store;
  queue: Queue;
  logger: Logger;
}

interface ErrorBody {
  status: number;
  code: string;
  message: string;
  headers: Record<string, string>;
  details: Record<string, unknown>;
}

/** Maps any error a route can throw to a status and a JSON body that names the problem. */
export function describeError(err: unknown, retryAfterSeconds: number): ErrorBody {
  const e = err as Error & { code?: string; statusCode?: number; retryAfterSeconds?: number; position?: number; expected?: string };
  const base = { headers: {} as Record<string, string>, details: {} as Record<string, unknown> };
  if (e instanceof HttpError) return { status: e.status, code: e.code, message: e.message, headers: e.headers, details: e.details };
  switch (e?.name) {
    case 'QueueFullError':
      return { ...base, status: 429, code: 'queue_full', message: e.message, headers: { 'retry-after': String(e.retryAfterSeconds ?? retryAfterSeconds) } };
    case 'RateLimitedError':
      return { ...base, status: 429, code: 'rate_limited', message: e.message, headers: { 'retry-after': String(e.retryAfterSeconds ?? retryAfterSeconds) } };
    case 'StoreUnavailableError':
      return { ...base, status: 503, code: 'store_unavailable', message: e.message, headers: { 'retry-after': String(retryAfterSeconds * 5) } };
    case 'QueryParseError':
      return { ...base, status: 400, code: 'query_parse_error', message: e.message, details: { position: e.position, expected: e.expected } };
    case 'TimeRangeError':
    case 'QueryInputError':
      return { ...base, status: 400, code: 'invalid_query', message: e.message };
    case 'QueryCancelledError':
      return { ...base, status: 503, code: 'query_cancelled', message: e.message, headers: { 'retry-after': String(retryAfterSeconds) } };
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { ...base, status: 413, code: 'body_too_large', message: e.message };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { ...base, status: 415, code: 'unsupported_media_type', message: e.message };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { ...base, status: 400, code: 'bad_request', message: e.message };
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { ...base, status: e.statusCode, code: 'bad_request', message: e.message };
  }
  return { ...base, status: 500, code: 'internal_error', message: 'internal error; see the server log' };
}

export function createApp(deps: AppDeps): FastifyInstance {
  const { config, metrics, store, queue, logger } = deps;
  const app = Fastify({
    logger: false,
    bodyLimit: config.ingest.max_body_bytes,
    // Ingest clients keep connections busy; give slow senders time but not forever.
    requestTimeout: 120_000,
    keepAliveTimeout: 65_000,
    routerOptions: { ignoreTrailingSlash: true },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => {
    const d = describeError(err, config.queue.retry_after_seconds);
    if (d.status >= 500 && d.code === 'internal_error') {
      logger.error({ err, method: req.method, url: req.url }, 'request failed');
    }
    void reply
      .code(d.status)
      .headers(d.headers)
      .send({ error: d.message, code: d.code, ...d.details });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}`, code: 'not_found' });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const health = await store.health().catch((err: Error) => ({ failure: err.message }));
    if (health.failure) return reply.code(503).send({ status: 'unavailable', reason: health.failure });
    const depth = queue.depth();
    if (depth.records >= config.queue.max_records || depth.bytes >= config.queue.max_bytes) {
      return reply.code(503).send({ status: 'busy', reason: 'ingest queue is full' });
    }
    return { status: 'ready' };
  });

  app.get('/metrics', async (_req, reply) => {
    try {
      const size = await store.size();
      metrics.storeBytes.set(size.bytes);
      metrics.storeHeadRows.set(size.headRows);
      metrics.storeMemoryBytes.set(size.memoryBytes);
    } catch {
      /* the store gauge keeps its last value */
    }
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  return app;
}
