/** Measuring helpers the benchmarks share: rounding, percentiles, timed queries, a transport run and the stored count. */
import type { BenchServer } from './server.ts';

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
