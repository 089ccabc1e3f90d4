/** Measuring helpers the benchmarks share: rounding, percentiles, timed queries, a transport run and the stored count. */
import { startBenchServer, type BenchServer } from './server.ts';

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** The p-th percentile of ascending `sorted` (nearest rank); NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs GET url+path `runs` times: the first (cold) time, and the median and p95 of the rest. */
export async function timeQuery(url: string, path: string, runs = 7): Promise<{ cold_ms: number; median_ms: number; p95_ms: number; result: any }> {
  const times: number[] = [];
  let result: unknown;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const res = await fetch(url + path);
    result = await res.json();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(result)}`);
    times.push(performance.now() - t);
  }
  const warm = times.slice(1).sort((a, b) => a - b);
  return { cold_ms: round(times[0]!), median_ms: round(percentile(warm, 50)), p95_ms: round(percentile(warm, 95)), result };
}

/** One transport's run: `work` sends `records` in `bytes` and returns its retries; rate, wire size and the server's peak RSS. */
export async function measureTransport(server: BenchServer, records: number, bytes: number, work: () => Promise<number>): Promise<Record<string, number>> {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, server.memory().rss)), 250);
  const started = performance.now();
  let retries: number;
  try {
    retries = await work();
  } finally {
    clearInterval(timer);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    records,
    seconds: Math.round(seconds * 100) / 100,
    records_per_s: Math.round(records / seconds),
    mb_per_s_wire: Math.round((bytes / seconds / 1e6) * 10) / 10,
    wire_bytes_per_record: Math.round(bytes / records),
    retries,
    peak_rss_mb: Math.round(Math.max(peak, server.memory().rss) / 2 ** 20),
  };
}

/** Records the server holds over the last two days (from /api/v1/stats). */
export async function storedRecords(url: string): Promise<number> {
  const stats = (await (await fetch(`${url}/api/v1/stats?from=now-2d&step=1h`)).json()) as { buckets: { count: number }[] };
  return stats.buckets.reduce((n, b) => n + b.count, 0);
}

/**
 * One transport against a fresh server (so one's compaction does not slow the
 * next): `send` delivers `records` in `bytes` and returns its retries; the run
 * fails unless the server then holds exactly `records`.
 */
export async function runTransport(
  name: string,
  records: number,
  bytes: number,
  send: (server: BenchServer) => Promise<number>,
  env: Record<string, string> = {},
): Promise<Record<string, number>> {
  const server = await startBenchServer({ env });
  try {
    console.log(`${name}...`);
    const r = await measureTransport(server, records, bytes, () => send(server));
    const stored = await storedRecords(server.url);
    if (stored !== records) throw new Error(`${name}: ${stored} records stored, expected ${records}`);
    console.log(`  ${r.records_per_s!.toLocaleString()} records/s, ${r.mb_per_s_wire} MB/s on the wire, peak RSS ${r.peak_rss_mb} MiB`);
    return r;
  } finally {
    await server.stop();
  }
}

/** Steady background ingest (~25k lines/s: one body every 40 ms) until the returned stop() resolves. */
export function backgroundLoad(url: string, bodies: Buffer[]): () => Promise<void> {
  let stop = false;
  const running = (async () => {
    let i = 0;
    while (!stop) {
      await fetch(`${url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: bodies[i++ % bodies.length] });
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  return () => {
    stop = true;
    return running;
  };
}

