/**
 * The web UI: the static files Vite builds into web/dist, served at `/`.
 *
 * Hashed assets under /assets/ are cached for a year (a new build gives them
 * new names); index.html answers every client route (the app reads its state
 * from the URL) and is never cached, so a new build shows on the next load.
 * Only the client routes listed here answer with HTML: /api, /loki, /metrics
 * and the ingest paths keep their JSON 404s. The Elasticsearch API shares
 * these paths at the root (GET / is how Beats and Logstash find out what they
 * talk to, GET /{index} whether an index exists): the app answers only
 * requests that accept HTML, which a browser's navigation does and an
 * Elasticsearch client does not. The HTML carries a strict
 * Content-Security-Policy, a second line of defence behind the app's own
 * rule that log data is only ever rendered as text.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Logger } from '../util/logger.ts';

export const WEB_DIST = resolve(import.meta.dirname, '..', '..', 'web', 'dist');

/** Paths the app routes itself (web/src/lib/url-state.ts); each gets index.html. */
export const CLIENT_ROUTES = ['/', '/live', '/patterns', '/related', '/system'];

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Cairn</title>
<p>The Cairn web UI is not built. Run <code>npm run build:web</code> (or <code>npm install</code>) in the Cairn directory, then reload.
The API is available under <code>/api/v1/</code>.</p>`;

/** Route constraint `page: 'html'`: the request accepts HTML. Unconstrained routes still answer everything else. */
const acceptsHtml = {
  name: 'page',
  storage() {
    const handlers = new Map<string, unknown>();
    return {
      get: (value: string) => (handlers.get(value) ?? null) as never,
      set: (value: string, handler: unknown) => void handlers.set(value, handler),
    };
  },
  deriveConstraint: (req: { headers: Record<string, string | string[] | undefined> }) => (String(req.headers.accept ?? '').includes('text/html') ? 'html' : ''),
  mustMatchWhenDerived: false,
};

export function registerWebRoutes(app: FastifyInstance, deps: { logger: Logger; dist?: string }): void {
  const dist = deps.dist ?? WEB_DIST;
  const built = existsSync(join(dist, 'index.html'));
  if (!built) deps.logger.warn({ dist }, 'the web UI is not built (npm run build:web); / answers with instructions');

  const sendIndex = (reply: FastifyReply) => {
    void reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' });
    if (!built) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
    return reply.sendFile('index.html', dist, { cacheControl: false });
  };

  if (built) {
    void app.register(fastifyStatic, {
      root: join(dist, 'assets'),
      prefix: '/assets/',
      immutable: true,
      maxAge: '365d',
      index: false,
    });
  }
  app.addConstraintStrategy(acceptsHtml);
  for (const route of CLIENT_ROUTES) app.get(route, { constraints: { page: 'html' } }, (_req, reply) => sendIndex(reply));
}
