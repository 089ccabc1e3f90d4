/**
 * Elasticsearch-compatible ingest: POST /_bulk and /{index}/_bulk plus the
 * handshake endpoints Beats, Logstash, Vector, Fluent Bit and the official
 * clients call first, so they ship to Cairn as to an Elasticsearch node.
 * Answers in Elasticsearch's shapes: per-item results, `errors`, and error
 * bodies {"error":{"type","reason"},"status"} with X-Elastic-Product, which the
 * official clients insist on. The whole request is stored or refused at once:
 * 429 (es_rejected_execution_exception) with Retry-After is the backpressure
 * every shipper retries.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LogRecord } from '../../record/record.ts';
import { recordId } from '../../record/id.ts';
import { nowNs } from '../../record/time.ts';
import { authorize } from '../../api/auth.ts';
import type { Principal } from '../../auth/tokens.ts';
import { decodeBody, mediaType } from '../../api/body.ts';
import { HttpError } from '../../api/errors.ts';
import { describeError } from '../../api/app.ts';
import { sources, type Source, type SourceContext } from '../source.ts';
import type { IngestContext } from '../ingestor.ts';
import { parseBulk, type BulkItem } from './bulk.ts';
import * as handshake from './handshake.ts';

const BULK_TYPES = new Set(['application/x-ndjson', 'application/json', 'application/vnd.elasticsearch+x-ndjson', 'application/vnd.elasticsearch+json', '']);
const CLUSTER_NAME = 'cairn';

/** Cairn's error codes → the exception type Elasticsearch would name. */
const ES_TYPES: Record<string, string> = {
  unauthorized: 'security_exception',
  forbidden: 'security_exception',
  queue_full: 'es_rejected_execution_exception',
  rate_limited: 'es_rejected_execution_exception',
  store_unavailable: 'unavailable_shards_exception',
  body_too_large: 'content_too_long_exception',
  unsupported_media_type: 'media_type_header_exception',
  invalid_json: 'x_content_parse_exception',
  corrupt_body: 'x_content_parse_exception',
};

export function esErrorBody(type: string, reason: string, status: number) {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

export function createElasticSource(ctx: SourceContext): Source {
  const { config, ingestor, auth } = ctx;
  const options = config.sources.elastic;
  let seqNo = 0;
  const principals = new WeakMap<FastifyRequest, Principal>();

  const bulk = async (req: FastifyRequest, reply: FastifyReply) => {
    const started = performance.now();
    const principal = principals.get(req)!;
    const ictx: IngestContext = { source: 'elastic', tenant: principal.tenant };
    const wire = Buffer.isBuffer(req.body) ? req.body.length : 0;
    ingestor.received(ictx, wire);
    const urlIndex = (req.params as { index?: string }).index ?? null;
    let items: BulkItem[];
    let truncated: number;
    let size: number;
    try {
      const type = mediaType(req);
      if (!BULK_TYPES.has(type)) throw new HttpError(406, 'unsupported_media_type', `Content-Type header [${type}] is not supported; send application/x-ndjson`);
      const text = (await decodeBody(req, config.ingest.max_body_bytes)).toString('utf8');
      size = text.length;
      ({ items, truncated } = parseBulk(text, urlIndex, { tenant: principal.tenant, nowNs: nowNs() }, {
        maxActions: options.max_actions,
        maxLineBytes: config.ingest.max_line_bytes,
        oversize: config.ingest.oversize_action,
        keepRaw: config.ingest.keep_raw,
      }));
    } catch (err) {
      if (err instanceof HttpError) ingestor.reject(ictx, err.code);
      throw err;
    }
    ingestor.reject(ictx, 'truncated', truncated);
    const records: LogRecord[] = [];
    for (const item of items) {
      if (item.record) {
        const refused = ingestor.admit(item.record, ictx);
        if (refused) {
          item.record = null;
          item.error = { type: 'document_parsing_exception', reason: 'failed to parse field [@timestamp]: outside the accepted time window (ingest.max_future, ingest.max_past)', metric: refused };
        } else {
          records.push(item.record);
        }
      }
      if (item.error) ingestor.reject(ictx, item.error.metric);
    }
    await ingestor.submit(records, ictx, size);
    const responseItems = items.map((item) => {
      if (item.error) {
        return { [item.action]: { _index: item.index, _id: item.id, status: 400, error: { type: item.error.type, reason: item.error.reason } } };
      }
      return {
        [item.action]: {
          _index: item.index,
          _id: item.id ?? recordId(item.record!),
          _version: 1,
          result: 'created',
          _shards: { total: 1, successful: 1, failed: 0 },
          _seq_no: seqNo++,
          _primary_term: 1,
          status: 201,
        },
      };
    });
    return reply.send({ took: Math.round(performance.now() - started), errors: records.length !== items.length, items: responseItems });
  };

  const routes = async (es: FastifyInstance) => {
    es.addHook('onSend', async (req, reply) => {
      if (!isBrowserPage(req)) reply.header('x-elastic-product', 'Elasticsearch');
    });
    es.setErrorHandler((err, _req, reply) => {
      const d = describeError(err, config.queue.retry_after_seconds);
      if (d.code === 'internal_error') ctx.logger.error({ err }, 'elasticsearch request failed');
      const headers = { ...d.headers };
      if (d.status === 401) Object.assign(headers, { 'www-authenticate': 'Basic realm="cairn", charset="UTF-8"' });
      const type = ES_TYPES[d.code] ?? (d.status >= 500 ? 'exception' : 'illegal_argument_exception');
      void reply.code(d.status).headers(headers).send(esErrorBody(type, d.message, d.status));
    });
    es.addHook('onRequest', async (req, reply) => {
      // `/` and `/{name}` are also the web UI's pages: a browser asking for a
      // page is not an Elasticsearch client, so it falls through to the UI.
      if (isBrowserPage(req)) {
        reply.callNotFound();
        return reply;
      }
      // Every endpoint needs the same credentials as _bulk: a shipper with a bad token fails at its first call.
      principals.set(req, authorize(auth, req, 'ingest'));
    });

    es.get('/', async () => handshake.clusterInfo(options.version, CLUSTER_NAME));
    es.get('/_license', async () => handshake.licenseInfo());
    es.get('/_xpack', async () => handshake.xpackInfo());
    es.get('/_cluster/health', async () => handshake.clusterHealth(CLUSTER_NAME));
    es.get('/_cluster/health/:index', async () => handshake.clusterHealth(CLUSTER_NAME));
    const named = (path: string, body: (name: string) => unknown) => {
      es.get(path, async (req) => body((req.params as { name: string }).name));
      es.put(path, async () => handshake.acknowledged());
    };
    named('/_index_template/:name', handshake.indexTemplate);
    named('/_template/:name', handshake.legacyTemplate);
    named('/_ilm/policy/:name', handshake.ilmPolicy);
    named('/_ingest/pipeline/:name', handshake.ingestPipeline);
    named('/_data_stream/:name', handshake.dataStream);
    es.get('/:index', async (req) => handshake.indexInfo((req.params as { index: string }).index));
    es.put('/:index', async (req) => handshake.indexCreated((req.params as { index: string }).index));
    for (const path of ['/_bulk', '/:index/_bulk']) {
      es.post(path, bulk);
      es.put(path, bulk);
    }
  };

  if (options.enabled) ctx.http.register(routes, { prefix: options.path_prefix });

  return {
    name: 'elastic',
    start: async () => undefined,
    stop: async () => undefined,
  };
}

sources.register('elastic', createElasticSource);

/** A browser navigating to a page (not an API call): GET/HEAD accepting HTML, not an `_` endpoint. */
function isBrowserPage(req: FastifyRequest): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const accept = String(req.headers.accept ?? '');
  return accept.includes('text/html') && !req.url.split('?')[0]!.includes('/_');
}
