/**
 * GET /api/v1/system: what the UI's System page shows for the caller's
 * tenant: ingest rates per source, refusals per reason with when they last
 * happened, the ingest queue, and storage per day.
 *
 * Design note: a rate needs two readings of a counter. A sampler reads the
 * ingest counters (log_processed_total, log_received_bytes_total,
 * log_errors_total) every SAMPLE_MS and keeps the readings of the last
 * WINDOW_MS, so the first request after start-up already has a rate and the
 * server keeps no per-client state. It also remembers, per error series, the
 * reading in which the count last went up: "last seen" to within SAMPLE_MS.
 * Memory is bounded by the number of label combinations, which the sources
 * already bound (sources × tenants × reasons).
 */
import type { FastifyInstance } from 'fastify';
import type { Counter } from 'prom-client';
import type { Metrics } from '../metrics/metrics.ts';
import type { Queue } from '../queue/queue.ts';
import type { Store } from '../store/store.ts';
import { formatRfc3339Nano } from '../record/time.ts';
import { authorize, type Authenticator } from './auth.ts';

export const SAMPLE_MS = 5_000;
export const WINDOW_MS = 60_000;

/** Counter values keyed by their labels joined with NUL. */
type Values = Map<string, number>;

interface Reading {
  at: number;
  processed: Values;
  bytes: Values;
  errors: Values;
}

const SEP = '\u0000';

async function read<T extends string>(counter: Counter<T>, labels: T[]): Promise<Values> {
  const out: Values = new Map();
  for (const v of (await counter.get()).values) {
    out.set(labels.map((l) => String(v.labels[l] ?? '')).join(SEP), v.value);
  }
  return out;
}

export class CounterSampler {
  private readonly metrics: Metrics;
  private readings: Reading[] = [];
  private readonly errorLastSeen = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(metrics: Metrics) {
    this.metrics = metrics;
  }

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Takes a reading; the window keeps one reading older than WINDOW_MS so it spans the whole window. */
  async sample(now = Date.now()): Promise<void> {
    // Requests sample too; readings closer than a second replace each other, so the window stays small.
    if ((this.readings.at(-1)?.at ?? -Infinity) > now - 1000 && this.readings.length > 1) this.readings.pop();
    const reading: Reading = {
      at: now,
      processed: await read(this.metrics.processed, ['source', 'tenant']),
      bytes: await read(this.metrics.receivedBytes, ['source', 'tenant']),
      errors: await read(this.metrics.errors, ['source', 'tenant', 'reason']),
    };
    const previous = this.readings.at(-1);
    for (const [key, value] of reading.errors) {
      if (value > (previous?.errors.get(key) ?? 0)) this.errorLastSeen.set(key, now);
    }
    this.readings.push(reading);
    while (this.readings.length > 2 && this.readings[1]!.at <= now - WINDOW_MS) this.readings.shift();
  }

  /** Per-second rates and totals over the window, for one tenant. */
  summary(tenant: string) {
    const newest = this.readings.at(-1);
    const oldest = this.readings[0];
    const seconds = newest && oldest && newest.at > oldest.at ? (newest.at - oldest.at) / 1000 : 0;
    const rate = (values: keyof Omit<Reading, 'at'>, key: string) =>
      seconds > 0 ? ((newest![values].get(key) ?? 0) - (oldest![values].get(key) ?? 0)) / seconds : null;
    const ingest = [];
    const keys = new Set([...(newest?.processed.keys() ?? []), ...(newest?.bytes.keys() ?? [])]);
    for (const key of keys) {
      const [source, keyTenant] = key.split(SEP) as [string, string];
      if (keyTenant !== tenant) continue;
      ingest.push({
        source,
        records_total: newest!.processed.get(key) ?? 0,
        bytes_total: newest!.bytes.get(key) ?? 0,
        records_per_s: rate('processed', key),
        bytes_per_s: rate('bytes', key),
      });
    }
    const errors = [];
    for (const [key, total] of newest?.errors ?? []) {
      const [source, keyTenant, reason] = key.split(SEP) as [string, string, string];
      if (keyTenant !== tenant || total === 0) continue;
      const seen = this.errorLastSeen.get(key);
      errors.push({
        source,
        reason,
        total,
        in_window: total - (oldest?.errors.get(key) ?? 0),
        last_seen: seen === undefined ? null : new Date(seen).toISOString(),
      });
    }
    ingest.sort((a, b) => b.records_total - a.records_total || (a.source < b.source ? -1 : 1));
    errors.sort((a, b) => (b.last_seen ?? '').localeCompare(a.last_seen ?? '') || b.total - a.total);
    return { window_s: seconds, ingest, errors };
  }
}

export function registerSystemRoutes(app: FastifyInstance, deps: { metrics: Metrics; store: Store; queue: Queue; auth: Authenticator }): void {
  const { metrics, store, queue, auth } = deps;
  const sampler = new CounterSampler(metrics);
  sampler.start();
  app.addHook('onClose', async () => sampler.stop());

  app.get('/api/v1/system', async (req) => {
    const principal = authorize(auth, req, 'read');
    // A fresh reading, so counts include what happened since the last tick.
    await sampler.sample();
    const partitions = await store.partitions(principal.tenant);
    const depth = queue.depth();
    return {
      time: new Date().toISOString(),
      uptime_s: Math.round(process.uptime()),
      tenant: principal.tenant,
      ...sampler.summary(principal.tenant),
      queue: { records: depth.records, bytes: depth.bytes },
      storage: {
        rows: partitions.reduce((n, p) => n + p.rows, 0),
        bytes: partitions.reduce((n, p) => n + p.bytes, 0),
        days: partitions
          .map((p) => ({ day: p.day, rows: p.rows, bytes: p.bytes, segments: p.segments, from: formatRfc3339Nano(p.minTsNs), to: formatRfc3339Nano(p.maxTsNs) }))
          .sort((a, b) => (a.day < b.day ? 1 : -1)),
      },
    };
  });
}
