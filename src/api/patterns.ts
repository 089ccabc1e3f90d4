/**
 * GET /api/v1/patterns?q=&from=&to=&limit=: the message templates of the
 * records that match a query in a range, most frequent first. Counts come
 * from the store (records keep the template_id they were mined with); text,
 * first/last seen and an example come from the template store. Ids merged
 * into another template since are folded into it and listed as merged_ids,
 * so `template_id:a OR template_id:b ...` finds all of a template's records.
 */
import type { FastifyInstance } from 'fastify';
import type { TemplateStore } from '../pipeline/templates/store.ts';
import { formatRfc3339Nano } from '../record/time.ts';
import { authorize } from './auth.ts';
import { HttpError } from './errors.ts';
import { intParam, parseRangeParams, startQuery, type Query, type QueryDeps } from './query.ts';

export interface PatternDeps extends QueryDeps {
  /** Null when template mining is off. */
  templates: TemplateStore | null;
}

export type { PatternJson } from './shapes.ts';
import type { PatternJson } from './shapes.ts';

/** Distinct template ids counted per request, at most (merged ids are folded after counting). */
const MAX_GROUPS = 50_000;

export function registerPatternRoutes(app: FastifyInstance, deps: PatternDeps): void {
  const { config, store, auth, metrics, templates } = deps;

  app.get('/api/v1/patterns', async (req, reply) => {
    const principal = authorize(auth, req, 'read');
    if (templates === null) {
      throw new HttpError(404, 'templates_disabled', 'template mining is off (pipeline.templates.enabled: false)');
    }
    const started = performance.now();
    const q = req.query as Query;
    const range = parseRangeParams(deps, req, principal.tenant);
    const limit = intParam(q, 'limit', config.query.default_limit, config.query.max_limit);
    const { signal, done } = startQuery(deps, req, reply, principal.tenant);
    try {
      const rows = await store.aggregate({
        ...range,
        groupBy: [{ kind: 'core', name: 'template_id' }],
        measures: [{ fn: 'count' }],
        groupLimit: MAX_GROUPS,
        signal,
      });
      const counts = new Map<string, number>();
      const merged = new Map<string, string[]>();
      for (const row of rows) {
        const id = row.group[0];
        if (id === null || id === undefined || id === '') continue;
        const current = templates.resolveId(principal.tenant, id);
        counts.set(current, (counts.get(current) ?? 0) + (row.values[0] ?? 0));
        if (current !== id) merged.set(current, [...(merged.get(current) ?? []), id]);
      }
      const patterns: PatternJson[] = [...counts]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, limit)
        .map(([id, count]) => {
          const t = templates.get(principal.tenant, id);
          return {
            template_id: id,
            template: t?.text ?? null,
            count,
            first_seen: t?.firstSeen == null ? null : formatRfc3339Nano(t.firstSeen),
            last_seen: t?.lastSeen == null ? null : formatRfc3339Nano(t.lastSeen),
            example: t?.example ?? null,
            merged_ids: (merged.get(id) ?? []).sort(),
          };
        });
      const took = performance.now() - started;
      metrics.querySeconds.observe({ endpoint: 'patterns' }, took / 1000);
      return { patterns, stats: { took_ms: Math.round(took * 10) / 10, returned: patterns.length, limit } };
    } finally {
      done();
    }
  });
}
