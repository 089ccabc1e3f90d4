/**
 * GET /api/v1/related?id=RECORD_ID: what belongs with a record. Records
 * sharing its trace id or correlation id, across hosts and operating systems
 * (within pipeline.related.window either side), and records of the same host
 * within ±`window` seconds. Each related record is listed once, with its
 * strongest reason; the score orders trace > correlation > time proximity,
 * and within a reason, nearer in time first.
 */
import type { FastifyInstance } from 'fastify';
import type { Expr } from '../query/ast.ts';
import type { LogRecord } from '../record/record.ts';
import { recordId, tsOfRecordId } from '../record/id.ts';
import { recordToJson } from '../record/json.ts';
import { authorize } from './auth.ts';
import { HttpError, badRequest } from './errors.ts';
import { intParam, startQuery, type Query, type QueryDeps } from './query.ts';

const NS_PER_MS = 1_000_000n;

interface Candidate {
  record: LogRecord;
  reason: string;
  score: number;
}

/** 0..0.99: highest at the same instant, 0 at the edge of the window (so a tier's score never reaches the next). */
function closeness(a: bigint, b: bigint, windowNs: bigint): number {
  const d = a > b ? a - b : b - a;
  return 0.99 * (windowNs > 0n ? Math.max(0, 1 - Number(d) / Number(windowNs)) : 1);
}

export function registerRelatedRoutes(app: FastifyInstance, deps: QueryDeps): void {
  const { config, store, auth, metrics } = deps;
  const settings = config.pipeline.related;

  app.get('/api/v1/related', async (req, reply) => {
    const principal = authorize(auth, req, 'read');
    const started = performance.now();
    const q = req.query as Query;
    const id = q.id ?? '';
    const ts = tsOfRecordId(id);
    if (ts === undefined) throw badRequest('invalid_parameter', `id: expected a record id (32 hex digits, as in the "id" of /api/v1/query records), got ${JSON.stringify(id)}`);
    const maxHostSeconds = Math.floor(settings.max_host_window / 1000);
    const hostSeconds = q.window === undefined || q.window === '' ? Math.round(settings.host_window / 1000) : intParam(q, 'window', 30, maxHostSeconds);
    const limit = intParam(q, 'limit', settings.limit, settings.limit);
    const tenant = principal.tenant;
    const { signal, done } = startQuery(deps, req, reply, tenant);
    try {
      const [record] = await store.search({ tenant, where: { type: 'id', id }, fromNs: ts, toNs: ts, limit: 1, order: 'desc', signal });
      if (!record) throw new HttpError(404, 'not_found', `no record with id ${id} in tenant "${tenant}"`);
      const windowNs = BigInt(settings.window) * NS_PER_MS;
      const hostNs = BigInt(hostSeconds) * 1_000_000_000n;
      const found = new Map<string, Candidate>();
      const consider = (records: LogRecord[], reason: string, base: number, window: bigint) => {
        for (const r of records) {
          const rid = recordId(r);
          if (rid === id) continue;
          const score = Math.round((base + closeness(r.ts, ts, window)) * 1000) / 1000;
          const prev = found.get(rid);
          if (!prev || prev.score < score) found.set(rid, { record: r, reason, score });
        }
      };
      const around = (where: Expr, window: bigint) => store.search({ tenant, where, fromNs: ts - window, toNs: ts + window, limit, order: 'desc', signal });
      if (record.trace_id) consider(await around({ type: 'eq', field: { kind: 'core', name: 'trace_id' }, value: record.trace_id }, windowNs), 'same trace_id', 2, windowNs);
      if (record.correlation_id) consider(await around({ type: 'eq', field: { kind: 'core', name: 'correlation_id' }, value: record.correlation_id }, windowNs), 'same correlation_id', 1, windowNs);
      if (record.host) consider(await around({ type: 'eq', field: { kind: 'core', name: 'host' }, value: record.host }, hostNs), `same host within ±${hostSeconds}s`, 0, hostNs);
      const related = [...found.values()].sort((a, b) => b.score - a.score || (a.record.ts < b.record.ts ? -1 : 1)).slice(0, limit);
      const took = performance.now() - started;
      metrics.querySeconds.observe({ endpoint: 'related' }, took / 1000);
      return {
        record: recordToJson(record),
        related: related.map((c) => ({ record: recordToJson(c.record), reason: c.reason, score: c.score })),
        stats: { took_ms: Math.round(took * 10) / 10, returned: related.length, limit, window_s: Math.round(settings.window / 1000), host_window_s: hostSeconds },
      };
    } finally {
      done();
    }
  });
}
