/**
 * The Loki HTTP API over Cairn's store, so Grafana's Loki data source
 * (Explore, dashboards, "Save & test") and logcli work unchanged.
 *
 * Stream labels are the record's core fields host, unit, service, os, type
 * and level; trace ids, template id and attrs are structured metadata.
 * Responses follow Loki's documented shapes (status/data/resultType, ns
 * timestamps as strings, float seconds in matrices, `stats`), and errors
 * carry a `message` (what Grafana shows) and an `error`. The tenant comes
 * from the token; X-Scope-OrgID may choose another one only when the request
 * comes from an address in auth.trusted_proxy.
 */
import { BlockList, isIPv4 } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/tokens.ts';
import type { Expr, FieldRef } from '../query/ast.ts';
import { ALL, or } from '../query/ast.ts';
import { TENANT_PATTERN, type CairnConfig } from '../config/schema.ts';
import { authorize, type Authenticator } from './auth.ts';
import { describeError } from './app.ts';
import { HttpError, badRequest } from './errors.ts';
import { startQuery, type QueryDeps } from './query.ts';
import { parseLogQL, parseLogSelector } from '../query/logql/parser.ts';
import { formatMetric, formatSelector } from '../query/logql/format.ts';
import { planSelector } from '../query/logql/plan.ts';
import { QueryLimitError, UnsupportedQueryError } from '../query/logql/ast.ts';
import { evaluateMetric, instantOrder, newStats, runLogQuery, stepTimes, type ExecContext, type ExecStats, type LogLine, type MetricValue, type StepRange } from '../query/logql/execute.ts';
import { parseBytes, parseDurationNs } from '../query/logql/lexer.ts';
import { parseJsonLine, parseLogfmt } from '../query/logql/parsers.ts';
import { LABEL_NAME, STREAM_LABELS, labelsKey, structuredMetadata } from '../query/labels.ts';
import { nowNs, parseRfc3339 } from '../record/time.ts';
import type { Logger } from '../util/logger.ts';

export interface LokiDeps extends QueryDeps {
  logger: Logger;
  /** The text of a template id (from the template miner), for /patterns; absent: the id is the pattern. */
  patternText?: (tenant: string, templateId: string) => string | null;
}

/** The Loki API level these endpoints follow (reported by buildinfo; Grafana gates features on it). */
const LOKI_API_VERSION = '3.4.0';

const MAX_STEPS = 11_000;
const HOUR_NS = 3_600_000_000_000n;
const CATEGORIZE_FLAG = 'categorize-labels';

// ---------------------------------------------------------------- parameters

/** Query string and, for POST, a form body: Loki accepts both. */
function params(req: FastifyRequest): URLSearchParams {
  const p = new URL(req.url, 'http://x').searchParams;
  const type = String(req.headers['content-type'] ?? '');
  if (req.method === 'POST' && Buffer.isBuffer(req.body) && type.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) p.append(k, v);
  }
  return p;
}

/** Loki's timestamps: integers are ns (up to 10 digits: seconds), decimals are seconds, else RFC 3339. */
export function lokiTime(value: string | null, name: string, fallback: bigint): bigint {
  if (value === null || value === '') return fallback;
  const v = value.trim();
  if (/^-?\d+\.\d*$/.test(v)) {
    const [s, frac = ''] = v.split('.');
    const ms = frac.padEnd(3, '0').slice(0, 3);
    return BigInt(s!) * 1_000_000_000n + (v.startsWith('-') ? -1n : 1n) * BigInt(ms) * 1_000_000n;
  }
  if (/^-?\d+$/.test(v)) return v.replace('-', '').length <= 10 ? BigInt(v) * 1_000_000_000n : BigInt(v);
  const t = parseRfc3339(v);
  if (t === undefined) throw badRequest('invalid_parameter', `${name}: expected ns since epoch, seconds, or RFC 3339, got ${JSON.stringify(value)}`);
  return t;
}

/** Loki's durations: Prometheus duration text or float seconds. */
function lokiDuration(value: string, name: string): bigint {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return BigInt(Math.round(Number(v) * 1e9));
  const ns = parseDurationNs(v);
  if (ns === undefined || ns <= 0n) throw badRequest('invalid_parameter', `${name}: expected a duration such as 30s or a number of seconds, got ${JSON.stringify(value)}`);
  return ns;
}

function timeRange(p: URLSearchParams, defaultSpanNs: bigint): { startNs: bigint; endNs: bigint } {
  const now = nowNs();
  const endNs = lokiTime(p.get('end'), 'end', now);
  const since = p.get('since');
  const startNs = lokiTime(p.get('start'), 'start', endNs - (since ? lokiDuration(since, 'since') : defaultSpanNs));
  if (startNs > endNs) throw badRequest('invalid_parameter', 'end timestamp must not be before start time');
  return { startNs, endNs };
}

function limitParam(raw: string | null, fallback: number, max: number): number {
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw badRequest('invalid_parameter', `limit: expected a positive integer, got ${JSON.stringify(raw)}`);
  if (n > max) throw badRequest('limit_exceeded', `max entries limit per query exceeded, limit > max_entries_limit (${n} > ${max}) (query.max_limit)`);
  return n;
}

function directionParam(p: URLSearchParams): 'forward' | 'backward' {
  // Grafana sends direction= (empty) when a query has none.
  const d = (p.get('direction') || 'backward').toLowerCase();
  if (d !== 'forward' && d !== 'backward') throw badRequest('invalid_parameter', `direction: expected forward or backward, got ${JSON.stringify(d)}`);
  return d;
}

function labelNameParam(name: string): string {
  if (!LABEL_NAME.test(name)) throw badRequest('invalid_parameter', `"${name}" is not a label name`);
  return name;
}

/** A stream selector's store filter (its pipeline narrows, never widens). */
function selectorWhere(text: string | null): Expr {
  if (!text || text.trim() === '' || text.trim() === '{}') return ALL;
  return planSelector(parseLogSelector(text)).where;
}

// ------------------------------------------------------------------- output

/** Sample values as Prometheus prints them (Go's 'f' format, no exponent; +Inf, -Inf, NaN). */
function formatSampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  if (!s.includes('e')) return s;
  if (Number.isInteger(v)) return BigInt(v).toString();
  return v.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
}

/** ns → float seconds with ms precision, as Loki prints matrix timestamps. */
function seconds(ns: bigint): number {
  return Number(ns / 1_000_000n) / 1000;
}

function sortedLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(labels).sort().map((k) => [k, labels[k]!]));
}

function lokiStats(stats: ExecStats, started: number, returned: number): Record<string, unknown> {
  const execTime = (performance.now() - started) / 1000;
  const lines = stats.inProcess ? stats.rowsRead : returned;
  return {
    summary: {
      bytesProcessedPerSecond: Math.round(stats.bytesRead / Math.max(execTime, 1e-6)),
      linesProcessedPerSecond: Math.round(lines / Math.max(execTime, 1e-6)),
      totalBytesProcessed: stats.bytesRead,
      totalLinesProcessed: lines,
      totalEntriesReturned: returned,
      totalPostFilterLines: returned,
      execTime,
      queueTime: 0,
      subqueries: 0,
      splits: 0,
      shards: 0,
    },
    querier: { store: { totalChunksRef: 0, totalChunksDownloaded: 0, chunksDownloadTime: 0 } },
    ingester: { totalReached: 0, totalChunksMatched: 0, totalBatches: 0, totalLinesSent: 0 },
  };
}

function streamsResult(lines: LogLine[], categorize: boolean): unknown[] {
  const streams = new Map<string, { stream: Record<string, string>; values: unknown[] }>();
  for (const l of lines) {
    const labels = categorize ? l.labels.streamPart() : l.labels.allLabels();
    const key = labelsKey(labels);
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { stream: sortedLabels(labels), values: [] }));
    if (!categorize) {
      s.values.push([l.ts.toString(), l.line]);
      continue;
    }
    const extra: Record<string, Record<string, string>> = {};
    const metadata = l.labels.metadataPart();
    const parsed = l.labels.parsedPart();
    if (Object.keys(metadata).length > 0) extra.structuredMetadata = sortedLabels(metadata);
    if (Object.keys(parsed).length > 0) extra.parsed = sortedLabels(parsed);
    s.values.push([l.ts.toString(), l.line, extra]);
  }
  return [...streams.values()];
}

function metricResult(value: MetricValue, range: StepRange, instant: boolean, order: 'asc' | 'desc' | null): { resultType: string; result: unknown } {
  const times = stepTimes(range);
  if (value.kind === 'scalar') {
    if (instant) return { resultType: 'scalar', result: [seconds(times[0]!), formatSampleValue(value.value)] };
    return { resultType: 'matrix', result: [{ metric: {}, values: times.map((t) => [seconds(t), formatSampleValue(value.value)]) }] };
  }
  const series = value.series.filter((s) => s.values.size > 0);
  if (instant) {
    const samples = series.map((s) => ({ metric: sortedLabels(s.labels), v: s.values.get(0)! }));
    if (order) samples.sort((a, b) => (order === 'asc' ? a.v - b.v : b.v - a.v));
    else samples.sort((a, b) => (labelsKey(a.metric) < labelsKey(b.metric) ? -1 : 1));
    return { resultType: 'vector', result: samples.map((s) => ({ metric: s.metric, value: [seconds(times[0]!), formatSampleValue(s.v)] })) };
  }
  series.sort((a, b) => (labelsKey(a.labels) < labelsKey(b.labels) ? -1 : 1));
  return {
    resultType: 'matrix',
    result: series.map((s) => ({
      metric: sortedLabels(s.labels),
      values: [...s.values.keys()].sort((a, b) => a - b).map((i) => [seconds(times[i]!), formatSampleValue(s.values.get(i)!)]),
    })),
  };
}

// ------------------------------------------------------------------- routes

/** The caller of a Loki endpoint: the token's tenant, or the one a trusted proxy chose with X-Scope-OrgID. */
export function lokiPrincipalResolver(config: CairnConfig, auth: Authenticator): (req: FastifyRequest) => Principal {
  const trusted = new BlockList();
  for (const entry of config.auth.trusted_proxy) {
    const [addr, bits] = entry.split('/');
    const type = isIPv4(addr!) ? 'ipv4' : 'ipv6';
    if (bits !== undefined) trusted.addSubnet(addr!, Number(bits), type);
    else trusted.addAddress(addr!, type);
  }
  return (req) => {
    const principal = authorize(auth, req, 'read');
    const org = req.headers['x-scope-orgid'];
    if (typeof org !== 'string' || org === '' || org === principal.tenant) return principal;
    let remote = req.socket.remoteAddress ?? '';
    if (remote.startsWith('::ffff:') && isIPv4(remote.slice(7))) remote = remote.slice(7);
    const isTrusted = remote !== '' && trusted.check(remote, isIPv4(remote) ? 'ipv4' : 'ipv6');
    if (!isTrusted) {
      throw new HttpError(403, 'forbidden', `X-Scope-OrgID "${org}" differs from the token's tenant; it is honoured only from addresses in auth.trusted_proxy`);
    }
    if (org.includes('|')) throw new HttpError(400, 'unsupported', 'queries across several tenants (X-Scope-OrgID a|b) are not supported');
    if (!TENANT_PATTERN.test(org)) throw new HttpError(400, 'invalid_tenant', `X-Scope-OrgID "${org}" is not a tenant name`);
    return { ...principal, tenant: org };
  };
}

export function registerLokiRoutes(app: FastifyInstance, deps: LokiDeps): void {
  const { config, store, auth, metrics } = deps;
  const principalOf = lokiPrincipalResolver(config, auth);

  const context = (tenant: string, signal: AbortSignal): ExecContext => ({
    store,
    tenant,
    signal,
    limits: { maxSeries: config.query.max_series, postFilterMaxRows: config.query.post_filter_max_rows },
    stats: newStats(),
  });

  /** Runs a query route under the tenant's limits, timing it. */
  const run = async <T>(req: FastifyRequest, reply: FastifyReply, endpoint: string, fn: (tenant: string, signal: AbortSignal, p: URLSearchParams) => Promise<T>): Promise<T> => {
    const principal = principalOf(req);
    const p = params(req);
    const started = performance.now();
    const { signal, done } = startQuery(deps, req, reply, principal.tenant);
    try {
      return await fn(principal.tenant, signal, p);
    } finally {
      done();
      metrics.querySeconds.observe({ endpoint }, (performance.now() - started) / 1000);
    }
  };

  app.register(async (scope) => {
    scope.setErrorHandler((err, req, reply) => {
      const d = describeError(err, config.queue.retry_after_seconds);
      const code = err instanceof UnsupportedQueryError ? 'unsupported_query' : err instanceof QueryLimitError ? 'query_limit' : d.code;
      if (d.status >= 500 && d.code === 'internal_error') deps.logger.error({ err, method: req.method, url: req.url }, 'request failed');
      const errorType = d.status === 400 ? 'bad_data' : d.status === 429 ? 'too_many_requests' : d.status >= 500 ? 'internal' : 'bad_request';
      void reply.code(d.status).headers(d.headers).send({ status: 'error', errorType, error: d.message, message: d.message, code, ...d.details });
    });

    const both = (path: string, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => {
      scope.get(path, handler);
      scope.post(path, handler);
    };

    const query = (instant: boolean) => async (req: FastifyRequest, reply: FastifyReply) =>
      run(req, reply, instant ? 'loki_query' : 'loki_query_range', async (tenant, signal, p) => {
        const started = performance.now();
        const text = p.get('query');
        if (!text) throw badRequest('invalid_parameter', 'query: a LogQL query is required');
        const ast = parseLogQL(text);
        const ctx = context(tenant, signal);
        const limit = limitParam(p.get('limit'), 100, config.query.max_limit);
        const direction = directionParam(p);
        if (ast.kind === 'log') {
          if (instant) {
            throw badRequest('invalid_query', 'log queries are not supported as an instant query type, please change your query to a range query type');
          }
          const { startNs, endNs } = timeRange(p, HOUR_NS);
          // Loki returns entries with start <= ts < end.
          const lines = await runLogQuery(ctx, ast.selector, { fromNs: startNs, toNs: endNs - 1n, limit, direction });
          const categorize = String(req.headers['x-loki-response-encoding-flags'] ?? '').split(',').map((f) => f.trim()).includes(CATEGORIZE_FLAG);
          return {
            status: 'success',
            data: {
              resultType: 'streams',
              result: streamsResult(lines, categorize),
              stats: lokiStats(ctx.stats, started, lines.length),
              ...(categorize ? { encodingFlags: [CATEGORIZE_FLAG] } : {}),
            },
            ...(ctx.stats.warnings.length > 0 ? { warnings: ctx.stats.warnings } : {}),
          };
        }
        let range: StepRange;
        if (instant) {
          range = { startNs: lokiTime(p.get('time'), 'time', nowNs()), stepNs: 1n, steps: 1 };
        } else {
          const { startNs, endNs } = timeRange(p, HOUR_NS);
          const stepText = p.get('step');
          const spanNs = endNs - startNs;
          const stepNs = stepText ? lokiDuration(stepText, 'step') : BigInt(Math.max(1, Math.floor(Number(spanNs / 1_000_000_000n) / 250))) * 1_000_000_000n;
          const steps = Number(spanNs / stepNs) + 1;
          if (steps > MAX_STEPS) {
            throw badRequest('too_many_steps', `exceeded maximum resolution of ${MAX_STEPS} points per timeseries. Try decreasing the query resolution (?step=XX)`);
          }
          range = { startNs, stepNs, steps };
        }
        const value = await evaluateMetric(ctx, ast.expr, range);
        const result = metricResult(value, range, instant, instantOrder(ast.expr));
        return {
          status: 'success',
          data: { ...result, stats: lokiStats(ctx.stats, started, Array.isArray(result.result) ? result.result.length : 1) },
          ...(ctx.stats.warnings.length > 0 ? { warnings: ctx.stats.warnings } : {}),
        };
      });

    both('/loki/api/v1/query', query(true));
    both('/loki/api/v1/query_range', query(false));

    const labelFields = STREAM_LABELS.map((name): FieldRef => ({ kind: 'label', name, parsers: [] }));

    both('/loki/api/v1/labels', (req, reply) =>
      run(req, reply, 'loki_labels', async (tenant, signal, p) => {
        const { startNs, endNs } = timeRange(p, 6n * HOUR_NS);
        const rows = await store.aggregate({
          tenant, where: selectorWhere(p.get('query')), fromNs: startNs, toNs: endNs, signal,
          groupBy: [], measures: labelFields.map((field) => ({ fn: 'count_distinct', field })),
        });
        const present = STREAM_LABELS.filter((_, i) => (rows[0]?.values[i] ?? 0) > 0);
        return { status: 'success', data: [...present].sort() };
      }),
    );

    const labelValues = async (tenant: string, signal: AbortSignal, p: URLSearchParams, name: string): Promise<string[]> => {
      const { startNs, endNs } = timeRange(p, 6n * HOUR_NS);
      const rows = await store.aggregate({
        tenant, where: selectorWhere(p.get('query')), fromNs: startNs, toNs: endNs, signal,
        groupBy: [{ kind: 'label', name, parsers: [] }], measures: [{ fn: 'count' }], groupLimit: config.query.max_limit,
      });
      return rows.flatMap((r) => (r.group[0] ? [r.group[0]] : [])).sort();
    };

    both('/loki/api/v1/label/:name/values', (req, reply) =>
      run(req, reply, 'loki_label_values', async (tenant, signal, p) => {
        const name = labelNameParam((req.params as { name: string }).name);
        return { status: 'success', data: await labelValues(tenant, signal, p, name) };
      }),
    );

    const series = async (tenant: string, signal: AbortSignal, p: URLSearchParams, where: Expr) => {
      const { startNs, endNs } = timeRange(p, HOUR_NS);
      const rows = await store.aggregate({
        tenant, where, fromNs: startNs, toNs: endNs, signal,
        groupBy: labelFields, measures: [{ fn: 'count' }, { fn: 'bytes' }], groupLimit: config.query.max_series,
      });
      return rows.map((r) => {
        const labels: Record<string, string> = {};
        r.group.forEach((v, i) => {
          if (v) labels[STREAM_LABELS[i]!] = v;
        });
        return { labels, entries: r.values[0] ?? 0, bytes: r.values[1] ?? 0 };
      });
    };

    both('/loki/api/v1/series', (req, reply) =>
      run(req, reply, 'loki_series', async (tenant, signal, p) => {
        const matches = p.getAll('match[]').concat(p.getAll('match'));
        const where = matches.length === 0 ? ALL : or(matches.map((m) => selectorWhere(m)));
        const found = await series(tenant, signal, p, where);
        return { status: 'success', data: found.map((s) => sortedLabels(s.labels)) };
      }),
    );

    both('/loki/api/v1/index/stats', (req, reply) =>
      run(req, reply, 'loki_index_stats', async (tenant, signal, p) => {
        const found = await series(tenant, signal, p, selectorWhere(p.get('query')));
        return {
          streams: found.length,
          chunks: found.length,
          entries: found.reduce((a, s) => a + s.entries, 0),
          bytes: found.reduce((a, s) => a + s.bytes, 0),
        };
      }),
    );

    both('/loki/api/v1/patterns', (req, reply) =>
      run(req, reply, 'loki_patterns', async (tenant, signal, p) => {
        const { startNs, endNs } = timeRange(p, HOUR_NS);
        const stepText = p.get('step');
        const span = endNs - startNs;
        let stepNs = stepText ? lokiDuration(stepText, 'step') : span / 100n;
        if (stepNs < 1_000_000_000n) stepNs = 1_000_000_000n;
        if (Number(span / stepNs) > MAX_STEPS) throw badRequest('too_many_steps', `step gives more than ${MAX_STEPS} samples per pattern; use a larger step`);
        const rows = await store.aggregate({
          tenant, where: selectorWhere(p.get('query')), fromNs: startNs, toNs: endNs, signal, stepNs,
          groupBy: [{ kind: 'core', name: 'template_id' }], measures: [{ fn: 'count' }], groupLimit: config.query.max_limit,
        });
        const byPattern = new Map<string, [number, number][]>();
        for (const r of rows) {
          const id = r.group[0];
          if (!id) continue;
          // Loki spells a variable part <_> (usable in a |> filter); the template miner writes <*>.
          const pattern = (deps.patternText?.(tenant, id) ?? id).replaceAll('<*>', '<_>');
          let samples = byPattern.get(pattern);
          if (!samples) byPattern.set(pattern, (samples = []));
          samples.push([Number(r.bucketNs! / 1_000_000_000n), r.values[0] ?? 0]);
        }
        return {
          status: 'success',
          data: [...byPattern].map(([pattern, samples]) => ({ pattern, samples: samples.sort((a, b) => a[0] - b[0]) })),
        };
      }),
    );

    both('/loki/api/v1/detected_labels', (req, reply) =>
      run(req, reply, 'loki_detected_labels', async (tenant, signal, p) => {
        const { startNs, endNs } = timeRange(p, 6n * HOUR_NS);
        const rows = await store.aggregate({
          tenant, where: selectorWhere(p.get('query')), fromNs: startNs, toNs: endNs, signal,
          groupBy: [], measures: labelFields.map((field) => ({ fn: 'count_distinct', field })),
        });
        const detectedLabels = STREAM_LABELS.map((label, i) => ({ label, cardinality: rows[0]?.values[i] ?? 0 })).filter((l) => l.cardinality > 0);
        return { detectedLabels };
      }),
    );

    /** Fields seen in the newest lines of a query: structured metadata and what json or logfmt extracts. */
    const detectFields = async (tenant: string, signal: AbortSignal, p: URLSearchParams) => {
      const text = p.get('query');
      if (!text) throw badRequest('invalid_parameter', 'query: a log query is required');
      const limit = limitParam(p.get('line_limit') ?? p.get('limit'), Math.min(1000, config.query.max_limit), config.query.max_limit);
      const { startNs, endNs } = timeRange(p, HOUR_NS);
      const ctx = context(tenant, signal);
      const lines = await runLogQuery(ctx, parseLogSelector(text), { fromNs: startNs, toNs: endNs, limit, direction: 'backward' });
      const fields = new Map<string, { values: Set<string>; parsers: Set<string>; jsonPath?: string[] }>();
      const note = (name: string, value: string, parser: string | null) => {
        let f = fields.get(name);
        if (!f) fields.set(name, (f = { values: new Set(), parsers: new Set() }));
        if (f.values.size < 10_000) f.values.add(value);
        if (parser) f.parsers.add(parser);
      };
      for (const l of lines) {
        for (const [k, v] of Object.entries(structuredMetadata(l.labels.record))) note(k, v, null);
        const json = parseJsonLine(l.line);
        if (json) for (const [k, v] of json) note(k, v, 'json');
        else for (const [k, v] of parseLogfmt(l.line, false) ?? []) if (v !== '' && l.line.includes(`${k}=`)) note(k, v, 'logfmt');
      }
      return fields;
    };

    both('/loki/api/v1/detected_fields', (req, reply) =>
      run(req, reply, 'loki_detected_fields', async (tenant, signal, p) => {
        const fields = await detectFields(tenant, signal, p);
        return {
          fields: [...fields].map(([label, f]) => ({
            label,
            type: detectType([...f.values]),
            cardinality: f.values.size,
            parsers: f.parsers.size > 0 ? [...f.parsers].sort() : null,
            ...(f.parsers.has('json') ? { jsonPath: label.split('_') } : {}),
          })),
          limit: Number(p.get('limit') ?? 1000),
        };
      }),
    );

    both('/loki/api/v1/detected_field/:name/values', (req, reply) =>
      run(req, reply, 'loki_detected_field_values', async (tenant, signal, p) => {
        const name = labelNameParam((req.params as { name: string }).name);
        const fields = await detectFields(tenant, signal, p);
        return { values: [...(fields.get(name)?.values ?? [])].sort() };
      }),
    );

    both('/loki/api/v1/format_query', async (req) => {
      principalOf(req);
      const text = params(req).get('query');
      if (!text) throw badRequest('invalid_parameter', 'query: a LogQL query is required');
      const ast = parseLogQL(text);
      return { status: 'success', data: ast.kind === 'log' ? formatSelector(ast.selector) : formatMetric(ast.expr) };
    });

    scope.get('/loki/api/v1/status/buildinfo', async () => ({
      version: LOKI_API_VERSION,
      revision: 'cairn',
      branch: 'cairn',
      buildUser: 'cairn',
      buildDate: '',
      goVersion: '',
    }));

    scope.get('/ready', async (_req, reply) => {
      const health = await store.health().catch((err: Error) => ({ failure: err.message }));
      if (health.failure) return reply.code(503).type('text/plain').send(`not ready: ${health.failure}\n`);
      return reply.type('text/plain').send('ready\n');
    });
  });
}

function detectType(values: string[]): string {
  if (values.length === 0) return 'string';
  if (values.every((v) => /^-?\d+$/.test(v))) return 'int';
  if (values.every((v) => /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v))) return 'float';
  if (values.every((v) => v === 'true' || v === 'false')) return 'boolean';
  if (values.every((v) => parseDurationNs(v) !== undefined)) return 'duration';
  if (values.every((v) => /[a-zA-Z]$/.test(v) && parseBytes(v) !== undefined)) return 'bytes';
  return 'string';
}
