/**
 * Search API: /api/v1/query (records), /api/v1/stats (counts per time bucket,
 * optionally by a field), /api/v1/fields/{name}/values (top values),
 * /distinct (distinct count) and /percentiles (of a numeric attr). The tenant
 * always comes from the caller's credentials; every query runs under the
 * tenant's concurrency limit and the time limit, and stops when the client
 * goes away.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CairnConfig } from '../config/schema.ts';
import type { Measure, Store } from '../store/store.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Expr, FieldRef } from '../query/ast.ts';
import { and, fieldLabel } from '../query/ast.ts';
import { parseSearch, resolveField } from '../query/search.ts';
import { resolveTimeRange } from '../query/timerange.ts';
import { recordToJson } from '../record/json.ts';
import { severityName } from '../record/severity.ts';
import { formatRfc3339Nano, nowNs } from '../record/time.ts';
import { tsOfRecordId } from '../record/id.ts';
import { parseDurationMs } from '../util/duration.ts';
import { authorize, type Authenticator } from './auth.ts';
import { HttpError, badRequest } from './errors.ts';

const MAX_BUCKETS = 11_000;
const NICE_STEPS_MS = [
  1, 5, 10, 50, 100, 500, 1000, 5000, 10_000, 15_000, 30_000, 60_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000,
  10_800_000, 21_600_000, 43_200_000, 86_400_000, 604_800_000,
];

export type Query = Record<string, string | undefined>;

export interface QueryDeps {
  config: CairnConfig;
  store: Store;
  auth: Authenticator;
  metrics: Metrics;
  /** Per-tenant concurrency (query.max_concurrent_per_tenant); absent: unlimited. */
  limiter?: QueryLimiter;
}

/**
 * Queries running per tenant, bounded: one tenant cannot take every store
 * connection; the next query is refused at once (429), never queued.
 */
export class QueryLimiter {
  private readonly running = new Map<string, number>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  acquire(tenant: string): () => void {
    const n = this.running.get(tenant) ?? 0;
    if (n >= this.max) {
      throw new HttpError(429, 'too_many_queries', `tenant "${tenant}" already runs ${n} queries, the most allowed at once (query.max_concurrent_per_tenant); retry when one has finished`, {
        headers: { 'retry-after': '1' },
      });
    }
    this.running.set(tenant, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(tenant) ?? 1) - 1;
      if (left <= 0) this.running.delete(tenant);
      else this.running.set(tenant, left);
    };
  }
}

export interface ParsedRange {
  tenant: string;
  where: Expr;
  fromNs: bigint;
  toNs: bigint;
}

export function parseRangeParams(deps: QueryDeps, req: FastifyRequest, tenant: string): ParsedRange {
  const q = req.query as Query;
  const now = nowNs();
  const where = parseSearch(q.q ?? '', { nowNs: now });
  const from = q.from ?? q.start;
  const to = q.to ?? q.end;
  // A lookup by record id needs no range: the id carries its timestamp.
  const idTs = !from && !to ? idLookupTs(where) : undefined;
  if (idTs !== undefined) return { tenant, where, fromNs: idTs, toNs: idTs };
  const range = resolveTimeRange(from, to, deps.config.query.default_range, now);
  return { tenant, where, ...range };
}

/** The timestamp of an `id:` query (alone or ANDed with other terms). */
function idLookupTs(where: Expr): bigint | undefined {
  const items = where.type === 'and' ? where.items : [where];
  const id = items.find((e) => e.type === 'id');
  return id?.type === 'id' ? tsOfRecordId(id.id) : undefined;
}

export function intParam(q: Query, name: string, fallback: number, max: number): number {
  const raw = q[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw badRequest('invalid_parameter', `${name}: expected a positive integer, got ${JSON.stringify(raw)}`);
  if (n > max) throw badRequest('invalid_parameter', `${name}: at most ${max}`);
  return n;
}

/**
 * Starts a query for a tenant: takes a concurrency slot and gives the signal
 * that cancels it (time limit, client gone). done() must run when it ends.
 */
export function startQuery(deps: QueryDeps, req: FastifyRequest, reply: FastifyReply, tenant: string): { signal: AbortSignal; done: () => void } {
  const release = deps.limiter?.acquire(tenant);
  const { signal, done } = querySignal(req, reply, deps.config.query.timeout, (reason) => deps.metrics.queriesCancelled.inc({ reason }));
  return {
    signal,
    done: () => {
      done();
      release?.();
    },
  };
}

/**
 * An AbortSignal that fires when the query's time is up or the client goes
 * away, so the store can interrupt the running SQL.
 */
export function querySignal(
  req: FastifyRequest,
  reply: FastifyReply,
  timeoutMs: number,
  onCancel?: (reason: 'timeout' | 'client_gone') => void,
): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    onCancel?.('timeout');
    controller.abort(`query exceeded the ${timeoutMs} ms time limit (query.timeout)`);
  }, timeoutMs);
  const onClose = () => {
    if (reply.raw.writableEnded) return;
    onCancel?.('client_gone');
    controller.abort('client went away');
  };
  reply.raw.once('close', onClose);
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      reply.raw.off('close', onClose);
    },
  };
}

/** A step that gives about `target` buckets over the range, rounded to a readable width. */
export function autoStepMs(rangeMs: number, target = 120): number {
  const ideal = rangeMs / target;
  return NICE_STEPS_MS.find((s) => s >= ideal) ?? Math.ceil(ideal / 86_400_000) * 86_400_000;
}

function groupValueLabel(field: FieldRef | undefined, value: string | null): string {
  if (value === null) return '';
  if (field?.kind === 'core' && field.name === 'severity') return severityName(Number(value));
  return value;
}

export function registerQueryRoutes(app: FastifyInstance, deps: QueryDeps): void {
  const { config, store, auth, metrics } = deps;

  app.get('/api/v1/query', async (req, reply) => {
    const principal = authorize(auth, req, 'read');
    const started = performance.now();
    const q = req.query as Query;
    const range = parseRangeParams(deps, req, principal.tenant);
    const limit = intParam(q, 'limit', config.query.default_limit, config.query.max_limit);
    const order = q.order ?? 'desc';
    if (order !== 'asc' && order !== 'desc') throw badRequest('invalid_parameter', 'order: expected "asc" or "desc"');
    const { signal, done } = startQuery(deps, req, reply, principal.tenant);
    try {
      const records = await store.search({ ...range, limit, order, signal });
      const took = performance.now() - started;
      metrics.querySeconds.observe({ endpoint: 'query' }, took / 1000);
      return {
        records: records.map((r) => recordToJson(r)),
        stats: { took_ms: Math.round(took * 10) / 10, returned: records.length, limit },
      };
    } finally {
      done();
    }
  });

  app.get('/api/v1/stats', async (req, reply) => {
    const principal = authorize(auth, req, 'read');
    const started = performance.now();
    const q = req.query as Query;
    const range = parseRangeParams(deps, req, principal.tenant);
    const rangeMs = Number((range.toNs - range.fromNs) / 1_000_000n);
    let stepMs: number;
    if (q.step) {
      stepMs = stepParam(q.step);
    } else {
      stepMs = autoStepMs(rangeMs);
    }
    if (rangeMs / stepMs > MAX_BUCKETS) {
      throw badRequest('too_many_buckets', `step ${q.step} gives more than ${MAX_BUCKETS} buckets over this range; use a larger step`);
    }
    const by = q.by ? resolveField(q.by) : undefined;
    const groupLimit = intParam(q, 'limit', 10, 1000);
    const stepNs = BigInt(Math.round(stepMs * 1e6));
    const { signal, done } = startQuery(deps, req, reply, principal.tenant);
    try {
      const rows = await store.aggregate({
        ...range,
        stepNs,
        groupBy: by ? [by] : [],
        measures: [{ fn: 'count' }],
        groupLimit: by ? groupLimit : undefined,
        signal,
      });
      const buckets = new Map<bigint, { count: number; groups?: Record<string, number> }>();
      const first = (range.fromNs / stepNs) * stepNs;
      for (let t = first; t <= range.toNs; t += stepNs) buckets.set(t, by ? { count: 0, groups: {} } : { count: 0 });
      for (const row of rows) {
        const b = buckets.get(row.bucketNs!) ?? { count: 0, ...(by ? { groups: {} } : {}) };
        const n = row.values[0] ?? 0;
        b.count += n;
        if (by) b.groups![groupValueLabel(by, row.group[0] ?? null)] = n;
        buckets.set(row.bucketNs!, b);
      }
      const took = performance.now() - started;
      metrics.querySeconds.observe({ endpoint: 'stats' }, took / 1000);
      return {
        from: formatRfc3339Nano(range.fromNs),
        to: formatRfc3339Nano(range.toNs),
        step_ms: stepMs,
        by: by ? fieldLabel(by) : null,
        buckets: [...buckets.entries()]
          .sort((a, b) => (a[0] < b[0] ? -1 : 1))
          .map(([t, b]) => ({ ts: formatRfc3339Nano(t), ...b })),
        stats: { took_ms: Math.round(took * 10) / 10 },
      };
    } finally {
      done();
    }
  });

  app.get('/api/v1/fields/:name/values', async (req, reply) => {
    const principal = authorize(auth, req, 'read');
    const started = performance.now();
    const field = fieldParam(req);
    const q = req.query as Query;
    const range = parseRangeParams(deps, req, principal.tenant);
    const limit = intParam(q, 'limit', 10, 10_000);
    const { signal, done } = startQuery(deps, req, reply, principal.tenant);
    try {
      const rows = await store.aggregate({
        ...range,
        groupBy: [field],
        measures: [{ fn: 'count' }],
        groupLimit: limit,
        signal,
      });
      rows.sort((a, b) => (b.values[0] ?? 0) - (a.values[0] ?? 0));
      const took = performance.now() - started;
      metrics.querySeconds.observe({ endpoint: 'field_values' }, took / 1000);
      return {
        field: fieldLabel(field),
        values: rows.map((r) => ({ value: groupValueLabel(field, r.group[0] ?? null), count: r.values[0] ?? 0 })),
        stats: { took_ms: Math.round(took * 10) / 10 },
      };
    } finally {
      done();
    }
  });

  app.get('/api/v1/fields/:name/distinct', async (req, reply) => {
    const principal = authorize(auth, req, 'read');
    const started = performance.now();
    const field = fieldParam(req);
    const range = parseRangeParams(deps, req, principal.tenant);
    const { signal, done } = startQuery(deps, req, reply, principal.tenant);
    try {
      const rows = await store.aggregate({ ...range, groupBy: [], measures: [{ fn: 'count_distinct', field }, { fn: 'count' }], signal });
      const took = performance.now() - started;
      metrics.querySeconds.observe({ endpoint: 'field_distinct' }, took / 1000);
      return {
        field: fieldLabel(field),
        distinct: rows[0]?.values[0] ?? 0,
        records: rows[0]?.values[1] ?? 0,
        stats: { took_ms: Math.round(took * 10) / 10 },
      };
    } finally {
      done();
    }
  });

  app.get('/api/v1/fields/:name/percentiles', async (req, reply) => {
    const principal = authorize(auth, req, 'read');
    const started = performance.now();
    const field = fieldParam(req);
    const q = req.query as Query;
    const ps = (q.p ?? '50,90,99').split(',').map((p) => p.trim());
    const quantiles = ps.map((p) => {
      const n = Number(p);
      if (p === '' || !Number.isFinite(n) || n < 0 || n > 100) throw badRequest('invalid_parameter', `p: expected percentiles between 0 and 100 such as 50,90,99, got ${JSON.stringify(q.p)}`);
      return n;
    });
    if (quantiles.length > 20) throw badRequest('invalid_parameter', 'p: at most 20 percentiles');
    const range = parseRangeParams(deps, req, principal.tenant);
    const stepNs = q.step ? BigInt(Math.round(stepParam(q.step) * 1e6)) : undefined;
    if (stepNs !== undefined && Number((range.toNs - range.fromNs) / stepNs) > MAX_BUCKETS) {
      throw badRequest('too_many_buckets', `step ${q.step} gives more than ${MAX_BUCKETS} buckets over this range; use a larger step`);
    }
    const measures: Measure[] = [{ fn: 'count' }, ...quantiles.map((p): Measure => ({ fn: 'quantile', field, q: p / 100 }))];
    const { signal, done } = startQuery(deps, req, reply, principal.tenant);
    try {
      // Only records where the field holds a number count.
      const where = and([range.where, { type: 'cmp', field, op: '>', value: -Infinity }]);
      const rows = await store.aggregate({ ...range, where, stepNs, groupBy: [], measures, signal });
      const shape = (values: (number | null)[]) => ({
        count: values[0] ?? 0,
        percentiles: Object.fromEntries(ps.map((p, i) => [p, values[i + 1] ?? null])),
      });
      const took = performance.now() - started;
      metrics.querySeconds.observe({ endpoint: 'field_percentiles' }, took / 1000);
      return {
        field: fieldLabel(field),
        ...(stepNs === undefined
          ? shape(rows[0]?.values ?? [])
          : { step_ms: Number(stepNs / 1_000_000n), buckets: rows.map((r) => ({ ts: formatRfc3339Nano(r.bucketNs!), ...shape(r.values) })) }),
        stats: { took_ms: Math.round(took * 10) / 10 },
      };
    } finally {
      done();
    }
  });
}

function fieldParam(req: FastifyRequest): FieldRef {
  const { name } = req.params as { name: string };
  if (!/^[A-Za-z_@][A-Za-z0-9_.@-]*$/.test(name)) throw new HttpError(400, 'invalid_parameter', `"${name}" is not a field name`);
  return resolveField(name);
}

function stepParam(text: string): number {
  const parsed = parseDurationMs(text);
  // Buckets are whole nanoseconds: a shorter step would be a zero-width bucket.
  if (parsed === undefined || parsed * 1e6 < 1) throw badRequest('invalid_parameter', `step: expected a duration such as 30s, 5m or 1h, got ${JSON.stringify(text)}`);
  return parsed;
}
