/**
 * `cairn server`: assembles the store, the queue, the pipeline, the sources
 * and the HTTP API into one process, and takes them down in the reverse order
 * (stop accepting, drain the queue into the store, close the store).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import '../components.ts';
import type { CairnConfig } from '../config/schema.ts';
import { ConfigError } from '../config/load.ts';
import { createMetrics, type Metrics } from '../metrics/metrics.ts';
import { stores, type Store } from '../store/store.ts';
import { queues, type IngestBatch, type Queue } from '../queue/queue.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { buildPipeline } from '../pipeline/build.ts';
import { AnomalyDetector } from '../anomaly/detector.ts';
import { nowNs } from '../record/time.ts';
import { TemplateStore } from '../pipeline/templates/store.ts';
import { toColumnBatch } from '../store/batch.ts';
import { Ingestor } from '../sources/ingestor.ts';
import { sources, type Source } from '../sources/source.ts';
import { TokenStore } from '../auth/tokens.ts';
import type { Authenticator } from '../api/auth.ts';
import { createApp } from '../api/app.ts';
import { QueryLimiter, registerQueryRoutes } from '../api/query.ts';
import { registerAdminRoutes } from '../api/admin.ts';
import { registerPatternRoutes } from '../api/patterns.ts';
import { registerRelatedRoutes } from '../api/related.ts';
import { lokiPrincipalResolver, registerLokiRoutes } from '../api/loki.ts';
import { registerTailRoutes } from '../api/tail.ts';
import { TailBus } from '../tail/bus.ts';
import { registerFieldRoutes } from '../api/fields.ts';
import { registerSystemRoutes } from '../api/system.ts';
import { registerWebRoutes } from '../api/web.ts';
import type { Logger } from '../util/logger.ts';
import { isLoopback, splitHostPort } from '../util/hostport.ts';
import type { LogRecord } from '../record/record.ts';

export interface RunningServer {
  config: CairnConfig;
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:7480 */
  url: string;
  app: FastifyInstance;
  store: Store;
  queue: Queue;
  metrics: Metrics;
  auth: Authenticator;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

// Here for the modules that import them from the server; the agent imports util/hostport.ts (not the whole server).
export { isLoopback, splitHostPort };

/** auto → open on loopback, token elsewhere; open on a non-loopback address is refused. */
export function resolveAuthMode(config: CairnConfig): 'open' | 'token' {
  const { host } = splitHostPort(config.server.listen);
  const mode = config.auth.mode;
  if (mode === 'open' && !isLoopback(host)) {
    throw new ConfigError(
      [`auth.mode: "open" is only allowed on a loopback address, but server.listen is ${config.server.listen}; create a token (cairn token create) and use auth.mode: token`],
      'server',
    );
  }
  if (mode === 'auto') return isLoopback(host) ? 'open' : 'token';
  return mode;
}

export async function startServer(config: CairnConfig, logger: Logger): Promise<RunningServer> {
  const authMode = resolveAuthMode(config);
  const dataDir = resolve(config.server.data_dir);
  mkdirSync(dataDir, { recursive: true });
  const metrics = createMetrics();
  const store = stores.get(config.store.type)({ config, logger });
  try {
    await store.open();
  } catch (err) {
    await store.close().catch(() => undefined);
    const text = String((err as Error).message);
    if (/lock/i.test(text)) {
      throw new Error(`the data directory ${dataDir} is in use by another Cairn process (${text.split('\n')[0]})`);
    }
    throw err;
  }
  const queue = queues.get(config.queue.type)({ config, metrics });
  const templateConfig = config.pipeline.templates;
  const templates = templateConfig.enabled
    ? new TemplateStore({
        dir: join(dataDir, 'templates'),
        maxTemplates: templateConfig.max_templates,
        maxMessageChars: templateConfig.max_message_chars,
        maxTokens: templateConfig.max_tokens,
        snapshotIntervalMs: templateConfig.snapshot_interval,
        logger,
        onEvict: (tenant, n) => metrics.templatesEvicted.inc({ tenant }, n),
      })
    : null;
  // Anomalies are records: they go in through the ingest path like any other,
  // not awaited here, since this runs inside the queue's consumer.
  let ingestor: Ingestor | null = null;
  const anomalies = config.pipeline.anomalies.enabled
    ? new AnomalyDetector({
        options: config.pipeline.anomalies,
        dir: join(dataDir, 'anomaly'),
        now: nowNs,
        metrics,
        logger,
        templates: templates ?? undefined,
        emit: (tenant, records) => {
          ingestor?.submit(records, { source: 'anomaly', tenant }, 0).catch((err: unknown) => logger.warn({ err, tenant, records: records.length }, 'anomaly records not stored'));
        },
      })
    : null;
  let pipeline: Pipeline;
  try {
    pipeline = buildPipeline({ config, metrics, logger, templates: templates ?? undefined, observers: anomalies ? [anomalies] : [] });
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  templates?.open();
  anomalies?.open();
  const tailBus = new TailBus();

  queue.start(async (batches: IngestBatch[]) => {
    let records: LogRecord[] = [];
    for (const b of batches) {
      const out = pipeline.idle ? b.records : await pipeline.process(b.records, { source: b.source, tenant: b.tenant });
      records = records.length === 0 ? out : records.concat(out);
    }
    const started = performance.now();
    await store.append(toColumnBatch(records));
    // Live tails see records once they are durable, off the acknowledgement path.
    if (!tailBus.idle) setImmediate(() => tailBus.publish(records));
    metrics.commitSeconds.observe((performance.now() - started) / 1000);
    metrics.commitRecords.observe(records.length);
    for (const b of batches) metrics.processed.inc({ source: b.source, tenant: b.tenant }, b.records.length);
  });

  ingestor = new Ingestor(config, queue, metrics);
  const auth: Authenticator = { mode: authMode, openTenant: config.auth.open_tenant, tokens: new TokenStore(dataDir) };
  const app = createApp({ config, metrics, store, queue, logger });
  const limiter = new QueryLimiter(config.query.max_concurrent_per_tenant);
  registerQueryRoutes(app, { config, store, auth, metrics, limiter });
  registerAdminRoutes(app, { store, auth });
  registerPatternRoutes(app, { config, store, auth, metrics, limiter, templates });
  registerLokiRoutes(app, {
    config, store, auth, metrics, limiter, logger,
    patternText: templates ? (tenant, id) => templates.get(tenant, templates.resolveId(tenant, id))?.text ?? null : undefined,
  });
  registerRelatedRoutes(app, { config, store, auth, metrics, limiter });
  registerTailRoutes(app, { config, auth, store, bus: tailBus, lokiPrincipal: lokiPrincipalResolver(config, auth) });
  registerFieldRoutes(app, { config, store, auth, metrics, limiter });
  registerSystemRoutes(app, { metrics, store, queue, auth });
  if (config.ui.enabled) registerWebRoutes(app, { logger });
  const running: Source[] = [];
  const { host, port } = splitHostPort(config.server.listen);
  try {
    // Every registered source is created: HTTP-based ones add their routes, the
    // others open listeners only where their section of `sources` asks for one.
    for (const name of sources.names()) {
      running.push(sources.get(name)({ config, http: app, ingestor, auth, metrics, logger }));
    }
    await app.listen({ host, port });
    for (const s of running) await s.start();
  } catch (err) {
    // A listener that cannot open (bad config, port in use) must not leave the store open behind it.
    for (const s of running) await s.stop().catch(() => undefined);
    await app.close().catch(() => undefined);
    await queue.drain(0);
    await store.close().catch(() => undefined);
    throw err;
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${boundPort}`;
  if (authMode === 'open') {
    logger.warn({ listen: config.server.listen }, `open local mode: no token is required and every record belongs to tenant "${config.auth.open_tenant}"; listening on loopback only`);
  }

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      for (const s of running) await s.stop().catch((err) => logger.error({ err, source: s.name }, 'source stop failed'));
      // Stop accepting, let in-flight requests finish (they wait for their
      // batch to be stored), then store whatever is still queued.
      await Promise.race([app.close(), sleep(config.server.shutdown_timeout)]);
      await queue.drain(config.server.shutdown_timeout);
      await pipeline.close();
      await anomalies?.close();
      await templates?.close();
      await store.close();
    })();
    return closing;
  };
  return { config, url, app, store, queue, metrics, auth, close };
}
