/**
 * `npm run bench`: the foundation's numbers, end to end over HTTP against a
 * real `cairn server` child process.
 *
 *   ingest     Loghub lines (replicated, varied hosts/timestamps over 24 h; run
 *              twice: lines as they are, and with every number varied per
 *              replica so lines do not repeat) and
 *              synthetic JSON records: lines/s and MB/s acknowledged (durable), RSS
 *   storage    bytes on disk per raw byte of the Loghub text after compaction
 *   search     needle word, common word, count by hour over a day, top values,
 *              over the stored lines (≥ 10M at full scale)
 *   freshness  ingest-to-queryable latency p50/p99 under steady background ingest
 *
 *   no-templates  the replicated ingest again (half the lines) with template
 *              mining switched off: the foundation path alone, to show what
 *              the miner costs on this 2-core machine
 *
 * Options: --lines N (Loghub lines, default 10M), --json-lines N (default 1M),
 * --concurrency N (default 4), --quick (1M/200k, for a smoke run).
 * Results: bench/results/foundation.json and the table in docs/benchmarks.md.
 */
import { parseArgs } from 'node:util';
import { loghubBodies, syntheticJsonBodies } from './lib/generate.ts';
import { duSync, sendAll, startBenchServer, type BenchServer } from './lib/server.ts';
import { updateBenchmarksDoc, writeResults } from './lib/report.ts';
import { backgroundLoad, percentile, round, timeQuery } from './lib/measure.ts';

const { values } = parseArgs({
  options: {
    lines: { type: 'string' },
    'json-lines': { type: 'string' },
    concurrency: { type: 'string' },
    quick: { type: 'boolean' },
  },
});
const quick = values.quick === true;
const LINES = Number(values.lines ?? (quick ? 1_000_000 : 10_000_000));
const JSON_LINES = Number(values['json-lines'] ?? (quick ? 200_000 : 1_000_000));
const CONCURRENCY = Number(values.concurrency ?? 4);
const PER_BODY = 5000;
const NEEDLE = 'zq7needle4k';

/** Samples the server's RSS every 250 ms while `work` runs. */
async function withRss<T>(server: BenchServer, work: () => Promise<T>): Promise<{ result: T; peakRss: number; samples: number[] }> {
  const samples: number[] = [];
  const timer = setInterval(() => samples.push(server.memory().rss), 250);
  try {
    const result = await work();
    return { result, peakRss: Math.max(...samples, server.memory().rss), samples };
  } finally {
    clearInterval(timer);
  }
}

async function benchLoghub(vary: boolean): Promise<Record<string, unknown>> {
  const endMs = Date.now();
  console.log(`generating ${LINES.toLocaleString()} Loghub lines (${vary ? 'numbers varied per replica' : 'replicated as is'})...`);
  const gen = loghubBodies(LINES, PER_BODY, { endMs, spanMs: 86_400_000, needle: NEEDLE, needleEvery: 1_000_000, vary });
  const server = await startBenchServer({});
  try {
    console.log(`ingesting over HTTP with ${CONCURRENCY} connections...`);
    const { sent, rates } = await ingestAll(server, gen);
    const ingest = { ...rates, mb_per_s_raw: round(gen.rawBytes / sent.seconds / 1e6), retries_429: sent.retries };
    console.log('ingest', ingest);

    const flushStart = performance.now();
    await fetch(`${server.url}/api/v1/admin/flush`, { method: 'POST' });
    const onDisk = duSync(server.dataDir);
    const storage = {
      raw_bytes: gen.rawBytes,
      disk_bytes: onDisk,
      bytes_per_raw_byte: round(onDisk / gen.rawBytes, 3),
      compaction_after_ingest_ms: Math.round(performance.now() - flushStart),
    };
    console.log('storage', storage);

    const range = `from=${endMs - 86_400_000}&to=${endMs}`;
    const needle = await timeQuery(server.url, `/api/v1/query?q=${NEEDLE}&${range}&limit=100`);
    const needleHits = (needle.result as { records: unknown[] }).records.length;
    const common = await timeQuery(server.url, `/api/v1/query?q=block&${range}&limit=100`);
    const byHour = await timeQuery(server.url, `/api/v1/stats?${range}&step=1h`);
    const byHourService = await timeQuery(server.url, `/api/v1/stats?${range}&step=1h&by=service`);
    const topHosts = await timeQuery(server.url, `/api/v1/fields/host/values?${range}&limit=10`);
    const warnings = await timeQuery(server.url, `/api/v1/query?q=${encodeURIComponent('level>=warning service:hdfs')}&${range}&limit=100`);
    const total = (byHour.result as { buckets: { count: number }[] }).buckets.reduce((a, b) => a + b.count, 0);
    const strip = ({ result: _r, ...rest }: { result: unknown }) => rest;
    const search = {
      stored_lines: total,
      needle: { query: NEEDLE, hits: needleHits, ...strip(needle) },
      common_word: { query: 'block', ...strip(common) },
      count_by_hour_24h: strip(byHour),
      count_by_hour_by_service_24h: strip(byHourService),
      top_values_host: strip(topHosts),
      filtered_search: { query: 'level>=warning service:hdfs', ...strip(warnings) },
    };
    console.log('search', JSON.stringify(search, null, 1));
    return { ingest, storage, search };
  } finally {
    await server.stop();
  }
}

/** Sends generated bodies to a fresh server (with `env`) and reports the ingest rate and peak RSS. */
/** Sends every body (CONCURRENCY requests at a time): the rates, and the server's peak RSS meanwhile. */
async function ingestAll(server: BenchServer, gen: { bodies: Buffer[]; lines: number; wireBytes: number }) {
  const { result: sent, peakRss } = await withRss(server, () => sendAll(server.url, gen.bodies, CONCURRENCY));
  const rates = {
    lines: gen.lines,
    seconds: round(sent.seconds, 2),
    lines_per_s: Math.round(gen.lines / sent.seconds),
    mb_per_s_wire: round(gen.wireBytes / sent.seconds / 1e6),
    peak_rss_mb: Math.round(peakRss / 1024 / 1024),
  };
  return { sent, rates };
}

async function ingestOnly(label: string, gen: { bodies: Buffer[]; lines: number; wireBytes: number }, env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const server = await startBenchServer({ env });
  try {
    const { rates } = await ingestAll(server, gen);
    console.log(label, rates);
    return rates;
  } finally {
    await server.stop();
  }
}

/** The replicated Loghub ingest (half the lines) with the template stage off: the foundation path alone. */
function benchIngestWithoutTemplates(): Promise<Record<string, unknown>> {
  const gen = loghubBodies(Math.ceil(LINES / 2), PER_BODY, { spanMs: 86_400_000 });
  return ingestOnly('ingest without template mining', gen, { CAIRN_PIPELINE__TEMPLATES__ENABLED: 'false' });
}

function benchJson(): Promise<Record<string, unknown>> {
  console.log(`generating ${JSON_LINES.toLocaleString()} synthetic JSON records...`);
  return ingestOnly('json ingest', syntheticJsonBodies(JSON_LINES, PER_BODY));
}

/** Probes: send one marked line while background ingest runs, poll until a query returns it. */
async function benchFreshness(): Promise<Record<string, unknown>> {
  const server = await startBenchServer({});
  const background = loghubBodies(400_000, 1000, { spanMs: 60_000 });
  const stopBackground = backgroundLoad(server.url, background.bodies);
  const latencies: number[] = [];
  try {
    for (let probe = 0; probe < 200; probe++) {
      const marker = `fresh${probe}x${Date.now().toString(36)}`;
      const t0 = performance.now();
      await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: JSON.stringify({ message: `probe ${marker}` }) });
      for (;;) {
        const res = await fetch(`${server.url}/api/v1/query?q=${marker}&from=now-5m&limit=1`);
        const body = (await res.json()) as { records: unknown[] };
        if (body.records.length > 0) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      latencies.push(performance.now() - t0);
    }
  } finally {
    await stopBackground();
    await server.stop();
  }
  latencies.sort((a, b) => a - b);
  const r = { probes: latencies.length, background_lines_per_s: 25_000, p50_ms: round(percentile(latencies, 50)), p99_ms: round(percentile(latencies, 99)), max_ms: round(latencies.at(-1)!) };
  console.log('freshness', r);
  return r;
}

const started = new Date();
const loghub = await benchLoghub(false);
const varied = await benchLoghub(true);
const withoutTemplates = await benchIngestWithoutTemplates();
const json = await benchJson();
const freshness = await benchFreshness();
const results = {
  suite: 'foundation',
  date: started.toISOString(),
  machine: { cores: (await import('node:os')).cpus().length, node: process.version, note: 'client and server share the machine' },
  parameters: { loghub_lines: LINES, json_lines: JSON_LINES, concurrency: CONCURRENCY, lines_per_request: PER_BODY },
  ingest_loghub: loghub.ingest,
  ingest_loghub_varied: varied.ingest,
  ingest_loghub_without_templates: withoutTemplates,
  ingest_json: json,
  storage: loghub.storage,
  storage_varied: varied.storage,
  search: loghub.search,
  search_varied: varied.search,
  freshness,
};
const name = quick ? 'foundation-quick' : 'foundation';
writeResults(name, results);
console.log(`wrote bench/results/${name}.json`);
if (!quick) updateBenchmarksDoc(results);
