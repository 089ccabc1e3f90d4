/**
 * GET /api/v1/fields?q=&from=&to=&sample=: the field names that records
 * matching a query carry, for the search box's completion and the UI's field
 * list. The core fields always; then the attrs keys of the newest `sample`
 * matching records (nested objects as dotted paths), with how many of the
 * sampled records have each, most common first. A sample, because attrs are
 * schemaless JSON: listing every key ever seen would scan everything.
 */
import type { FastifyInstance } from 'fastify';
import type { Attrs, JsonValue } from '../record/record.ts';
import { authorize } from './auth.ts';
import { intParam, parseRangeParams, startQuery, type Query, type QueryDeps } from './query.ts';

/** The core fields a query can filter on, in the order people reach for them. */
export const CORE_FIELD_NAMES = ['level', 'host', 'service', 'unit', 'os', 'type', 'message', 'trace_id', 'span_id', 'correlation_id', 'template_id'];

/** Nested objects deeper than this are listed as one field (their JSON). */
const MAX_DEPTH = 4;
const MAX_FIELDS = 1000;

export function attrPaths(attrs: Attrs, into: Set<string>, prefix = 'attrs', depth = 1): void {
  for (const [key, value] of Object.entries(attrs)) {
    const path = `${prefix}.${key}`;
    if (isObject(value) && depth < MAX_DEPTH && Object.keys(value).length > 0) attrPaths(value, into, path, depth + 1);
    else into.add(path);
  }
}

function isObject(v: JsonValue): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function registerFieldRoutes(app: FastifyInstance, deps: QueryDeps): void {
  const { config, store, auth, metrics } = deps;

  app.get('/api/v1/fields', async (req, reply) => {
    const principal = authorize(auth, req, 'read');
    const started = performance.now();
    const q = req.query as Query;
    const range = parseRangeParams(deps, req, principal.tenant);
    const sample = intParam(q, 'sample', 1000, config.query.max_limit);
    const { signal, done } = startQuery(deps, req, reply, principal.tenant);
    try {
      const records = await store.search({ ...range, limit: sample, order: 'desc', signal });
      const counts = new Map<string, number>();
      const paths = new Set<string>();
      for (const r of records) {
        paths.clear();
        attrPaths(r.attrs, paths);
        for (const p of paths) counts.set(p, (counts.get(p) ?? 0) + 1);
      }
      const attrs = [...counts]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, MAX_FIELDS)
        .map(([name, count]) => ({ name, kind: 'attr' as const, count }));
      const took = performance.now() - started;
      metrics.querySeconds.observe({ endpoint: 'fields' }, took / 1000);
      return {
        fields: [...CORE_FIELD_NAMES.map((name) => ({ name, kind: 'core' as const })), ...attrs],
        sampled: records.length,
        stats: { took_ms: Math.round(took * 10) / 10 },
      };
    } finally {
      done();
    }
  });
}
