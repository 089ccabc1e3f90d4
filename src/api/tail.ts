/**
 * Live tail over WebSocket: /api/v1/tail?q=<search syntax> (Cairn's records)
 * and /loki/api/v1/tail?query=<LogQL> (Loki's tail protocol, for logcli and
 * Grafana's live mode). New records arrive from the tail bus as soon as the
 * store committed them.
 *
 * Design note: each connection has a bounded buffer (query.tail_buffer
 * records). Records are sent only while the socket's own send buffer is
 * small, so a slow client first fills its record buffer; beyond that new
 * records are dropped and counted, and the client is told how many
 * ({"dropped": N}, or Loki's dropped_entries) once it catches up. Memory per
 * client is bounded; the bus and the other clients never wait for it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { LogRecord } from '../record/record.ts';
import type { CairnConfig } from '../config/schema.ts';
import type { Store } from '../store/store.ts';
import type { TailBus } from '../tail/bus.ts';
import type { Principal } from '../auth/tokens.ts';
import { authorize, type Authenticator } from './auth.ts';
import { HttpError, badRequest } from './errors.ts';
import { parseSearch } from '../query/search.ts';
import { compileMatcher } from '../query/evaluate.ts';
import { parseLogSelector } from '../query/logql/parser.ts';
import { Pipeline, type PipelineResult } from '../query/logql/pipeline.ts';
import { newStats, runLogQuery } from '../query/logql/execute.ts';
import { recordToJson } from '../record/json.ts';
import { recordId } from '../record/id.ts';
import { nowNs } from '../record/time.ts';
import { lokiTime } from './loki.ts';
import { truncateUtf8 } from '../sources/http/index.ts';

interface TailDeps {
  config: CairnConfig;
  auth: Authenticator;
  store: Store;
  bus: TailBus;
  /** The caller of a Loki endpoint (X-Scope-OrgID from trusted proxies). */
  lokiPrincipal: (req: FastifyRequest) => Principal;
}

/** Bytes queued in a socket beyond which nothing more is sent until it drains. */
const SOCKET_HIGH_WATER = 1024 * 1024;
const BATCH = 500;
const RETRY_MS = 50;
/** Dropped entries Loki's protocol reports individually per message, at most. */
const MAX_DROPPED_REPORTED = 100;

interface Delivery<T> {
  items: T[];
  dropped: number;
  droppedItems: T[];
}

/** One client's bounded buffer and its sender. */
class TailSession<T> {
  private readonly ws: WebSocket;
  private readonly max: number;
  private readonly send: (d: Delivery<T>) => string[];
  private buffer: T[] = [];
  private dropped = 0;
  private droppedItems: T[] = [];
  private scheduled = false;
  /** Held back until the initial history has been sent. */
  paused = false;
  constructor(ws: WebSocket, max: number, send: (d: Delivery<T>) => string[]) {
    this.ws = ws;
    this.max = max;
    this.send = send;
  }

  /** Keeps only the buffered items that pass (drops what the initial history already sent). */
  retain(keep: (item: T) => boolean): void {
    this.buffer = this.buffer.filter(keep);
  }

  offer(items: T[]): void {
    for (const item of items) {
      if (this.buffer.length < this.max) this.buffer.push(item);
      else {
        this.dropped++;
        if (this.droppedItems.length < MAX_DROPPED_REPORTED) this.droppedItems.push(item);
      }
    }
    this.schedule(0);
  }

  schedule(delayMs: number): void {
    if (this.scheduled || this.paused) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.flush();
    };
    if (delayMs === 0) setImmediate(run);
    else setTimeout(run, delayMs).unref();
  }

  private flush(): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    while (this.buffer.length > 0 || this.dropped > 0) {
      if (this.ws.bufferedAmount > SOCKET_HIGH_WATER) {
        this.schedule(RETRY_MS);
        return;
      }
      const items = this.buffer.splice(0, BATCH);
      const delivery: Delivery<T> = { items, dropped: this.dropped, droppedItems: this.droppedItems };
      this.dropped = 0;
      this.droppedItems = [];
      for (const message of this.send(delivery)) this.ws.send(message);
    }
  }
}

export function registerTailRoutes(app: FastifyInstance, deps: TailDeps): void {
  const { config, auth, bus, store } = deps;
  const clients = new Map<string, number>();

  const checkRoom = (tenant: string) => {
    const n = clients.get(tenant) ?? 0;
    if (n >= config.query.max_tail_clients) {
      throw new HttpError(429, 'too_many_tails', `tenant "${tenant}" already has ${n} live tails open, the most allowed (query.max_tail_clients)`);
    }
  };
  const admit = (tenant: string): (() => void) => {
    clients.set(tenant, (clients.get(tenant) ?? 0) + 1);
    return () => {
      const left = (clients.get(tenant) ?? 1) - 1;
      if (left <= 0) clients.delete(tenant);
      else clients.set(tenant, left);
    };
  };

  /** Ties a session to the bus for as long as the socket is open. */
  const attach = <T>(ws: WebSocket, tenant: string, session: TailSession<T>, filter: (records: LogRecord[]) => T[]) => {
    const release = admit(tenant);
    const unsubscribe = bus.subscribe({
      tenant,
      deliver: (records) => {
        const items = filter(records);
        if (items.length > 0) session.offer(items);
      },
      onError: (err) => closeWith(ws, 1011, `tail filter failed: ${err.message}`),
    });
    ws.on('close', () => {
      unsubscribe();
      release();
    });
    // Clients only listen; a message from them is ignored, an error closes.
    ws.on('error', () => ws.terminate());
  };

  app.register(async (scope) => {
    await scope.register(websocket, { options: { maxPayload: 64 * 1024 } });

    type NativeRequest = FastifyRequest<{ Querystring: { q?: string } }>;
    scope.get(
      '/api/v1/tail',
      {
        websocket: true,
        preValidation: async (req: NativeRequest) => {
          const principal = authorize(auth, req, 'read');
          compileMatcher(parseSearch(req.query.q ?? ''));
          checkRoom(principal.tenant);
        },
      },
      (ws, req) => {
        const principal = authorize(auth, req, 'read');
        const matches = compileMatcher(parseSearch((req as NativeRequest).query.q ?? '', { nowNs: nowNs() }));
        const session = new TailSession<LogRecord>(ws, config.query.tail_buffer, (d) => [
          ...(d.dropped > 0 ? [JSON.stringify({ dropped: d.dropped })] : []),
          ...(d.items.length > 0 ? [JSON.stringify({ records: d.items.map((r) => recordToJson(r)) })] : []),
        ]);
        attach(ws, principal.tenant, session, (records) => records.filter(matches));
      },
    );

    type LokiRequest = FastifyRequest<{ Querystring: { query?: string; limit?: string; start?: string; delay_for?: string } }>;
    scope.get(
      '/loki/api/v1/tail',
      {
        websocket: true,
        preValidation: async (req: LokiRequest) => {
          const principal = deps.lokiPrincipal(req);
          if (!req.query.query) throw badRequest('invalid_parameter', 'query: a LogQL log query is required');
          parseLogSelector(req.query.query);
          const delay = Number(req.query.delay_for ?? 0);
          if (!(delay >= 0 && delay <= 5)) throw badRequest('invalid_parameter', 'delay_for: at most 5 seconds');
          const limit = Number(req.query.limit ?? 100);
          if (!Number.isInteger(limit) || limit < 1 || limit > config.query.max_limit) {
            throw badRequest('invalid_parameter', `limit: a whole number from 1 to ${config.query.max_limit} (query.max_limit)`);
          }
          checkRoom(principal.tenant);
        },
      },
      (ws, req) => {
        const q = (req as LokiRequest).query;
        const principal = deps.lokiPrincipal(req);
        const selector = parseLogSelector(q.query!);
        const pipeline = new Pipeline(selector);
        type Entry = { ts: bigint; id: string; result: PipelineResult };
        const session = new TailSession<Entry>(ws, config.query.tail_buffer, (d) => [JSON.stringify(lokiTailMessage(d.items, d.droppedItems))]);
        // Live records are held back until the history below went out; the ones
        // it already holds are dropped then (and later, should one be published late).
        session.paused = true;
        let historyIds = new Set<string>();
        attach(ws, principal.tenant, session, (records) => {
          const out: Entry[] = [];
          for (const r of records) {
            const result = pipeline.process(r);
            if (!result) continue;
            const id = recordId(r);
            if (!historyIds.has(id)) out.push({ ts: r.ts, id, result });
          }
          return out;
        });
        const now = nowNs();
        const startNs = lokiTime(q.start ?? null, 'start', now - 3_600_000_000_000n);
        // The history runs under query.timeout and stops when the client goes away.
        const history = new AbortController();
        const timer = setTimeout(() => history.abort(`the history query exceeded the ${config.query.timeout} ms time limit (query.timeout)`), config.query.timeout);
        ws.once('close', () => history.abort('client went away'));
        const ctx = {
          store,
          tenant: principal.tenant,
          signal: history.signal,
          limits: { maxSeries: config.query.max_series, postFilterMaxRows: config.query.post_filter_max_rows },
          stats: newStats(),
        };
        runLogQuery(ctx, selector, { fromNs: startNs, toNs: now, limit: Number(q.limit ?? 100), direction: 'backward' })
          .then((lines) => {
            historyIds = new Set(lines.map((l) => recordId(l.labels.record)));
            session.retain((e) => !historyIds.has(e.id));
            const entries = lines.reverse().map((l) => ({ ts: l.ts, result: { line: l.line, labels: l.labels } }));
            if (entries.length > 0 && ws.readyState === ws.OPEN) ws.send(JSON.stringify(lokiTailMessage(entries, [])));
          })
          .catch((err: Error) => {
            if (ws.readyState === ws.OPEN) closeWith(ws, 1011, `history query failed: ${err.message}`);
          })
          .finally(() => {
            clearTimeout(timer);
            session.paused = false;
            session.schedule(0);
          });
      },
    );
  });
}

/** A close frame's reason is at most 123 bytes; ws throws on a longer one. */
function closeWith(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, truncateUtf8(reason, 123));
}

type TailEntry = { ts: bigint; result: PipelineResult };

function lokiTailMessage(entries: TailEntry[], dropped: TailEntry[]) {
  const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
  for (const e of entries) {
    const labels = e.result.labels.allLabels();
    const key = JSON.stringify(Object.entries(labels).sort());
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { stream: labels, values: [] }));
    s.values.push([e.ts.toString(), e.result.line]);
  }
  return {
    streams: [...streams.values()],
    dropped_entries: dropped.length > 0 ? dropped.map((d) => ({ labels: d.result.labels.allLabels(), timestamp: d.ts.toString() })) : null,
  };
}
