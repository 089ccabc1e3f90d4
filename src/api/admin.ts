/** Admin routes: store partitions and maintenance (admin role; a tenant sees and acts on its own data only). */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.ts';
import { authorize, type Authenticator } from './auth.ts';
import { badRequest } from './errors.ts';
import { formatRfc3339Nano } from '../record/time.ts';

export function registerAdminRoutes(app: FastifyInstance, deps: { store: Store; auth: Authenticator }): void {
  const { store, auth } = deps;

  app.get('/api/v1/partitions', async (req) => {
    const principal = authorize(auth, req, 'admin');
    const parts = await store.partitions(principal.tenant);
    return {
      partitions: parts.map((p) => ({
        day: p.day,
        segments: p.segments,
        rows: p.rows,
        bytes: p.bytes,
        from: formatRfc3339Nano(p.minTsNs),
        to: formatRfc3339Nano(p.maxTsNs),
      })),
    };
  });

  app.delete('/api/v1/partitions/:day', async (req) => {
    const principal = authorize(auth, req, 'admin');
    const { day } = req.params as { day: string };
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw badRequest('invalid_parameter', `day: expected YYYY-MM-DD, got "${day}"`);
    return { day, deleted_rows: await store.dropPartition(principal.tenant, day) };
  });

  /** Seals and compacts the head now (benchmarks, before a backup); every tenant's head, so admin only. */
  app.post('/api/v1/admin/flush', async (req) => {
    authorize(auth, req, 'admin');
    const started = performance.now();
    await store.flush();
    return { took_ms: Math.round(performance.now() - started) };
  });
}
