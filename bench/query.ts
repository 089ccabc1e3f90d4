/**
 * `npm run bench:query`: query latency over stored Loghub lines, against a
 * real `cairn server` child process, through the APIs Grafana and the UI use:
 *
 *   count_over_time by service over 24 h   LogQL, instant (one 24 h window) and a
 *                                          24 h panel (5 m windows, 288 steps)
 *   needle search                          a token in a handful of lines: search
 *                                          box and LogQL line filter
 *   common-word search                     newest 100 lines with a frequent word
 *   top values of a field                  /api/v1/fields/{host,service}/values
 *   logs volume                            Grafana's supplementary query
 *   live tail latency                      ingest-to-WebSocket, p50/p99, under
 *                                          steady background ingest
 *
 * The lines are ingested once into a data directory that later runs reuse
 * (bench/work/query-<lines> unless --data says otherwise; --fresh re-ingests).
 * Options: --lines N (default 10M; --quick 1M), --concurrency N (default 4).
 * Results: bench/results/query.json (query-quick.json with --quick) and a
 * section of docs/benchmarks.md.
 */
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { loghubBodies } from './lib/generate.ts';
import { sendAll, startBenchServer, type BenchServer } from './lib/server.ts';
import { updateDocSection, writeResults } from './lib/report.ts';
import { backgroundLoad, percentile, round, timeQuery } from './lib/measure.ts';

const { values } = parseArgs({
  options: {
    lines: { type: 'string' },
    concurrency: { type: 'string' },
    data: { type: 'string' },
    fresh: { type: 'boolean' },
    quick: { type: 'boolean' },
  },
});
const quick = values.quick === true;
const LINES = Number(values.lines ?? (quick ? 1_000_000 : 10_000_000));
const CONCURRENCY = Number(values.concurrency ?? 4);
const DATA = values.data ?? join(import.meta.dirname, 'work', `query-${LINES}`);
const PER_BODY = 5000;
const CHUNK = 1_000_000;
const NEEDLE = 'zq7needle4k';
const DAY_MS = 86_400_000;


interface Marker {
  lines: number;
  endMs: number;
  needle: string;
  ingest: Record<string, unknown>;
}

/** Ingests the lines (1M per chunk, so 10M never sit in memory at once) and compacts them. */
async function ingestOnce(): Promise<Marker> {
  const markerFile = join(DATA, 'bench-query.json');
  if (!values.fresh && existsSync(markerFile)) {
    const marker = JSON.parse(readFileSync(markerFile, 'utf8')) as Marker;
    if (marker.lines === LINES) {
      console.log(`reusing ${LINES.toLocaleString('en')} lines in ${DATA}`);
      return marker;
    }
  }
  rmSync(DATA, { recursive: true, force: true });
  mkdirSync(DATA, { recursive: true });
  const endMs = Date.now();
  const server = await startBenchServer({ dataDir: DATA, keepData: true });
  let seconds = 0;
  try {
    const chunks = Math.ceil(LINES / CHUNK);
    for (let c = 0; c < chunks; c++) {
      const n = Math.min(CHUNK, LINES - c * CHUNK);
      const spanMs = DAY_MS / chunks;
      const gen = loghubBodies(n, PER_BODY, { endMs: endMs - DAY_MS + (c + 1) * spanMs, spanMs, needle: NEEDLE, needleEvery: CHUNK });
      const sent = await sendAll(server.url, gen.bodies, CONCURRENCY);
      seconds += sent.seconds;
      console.log(`ingested ${((c * CHUNK + n) / 1e6).toFixed(1)}M lines`);
    }
    const flush = await fetch(`${server.url}/api/v1/admin/flush`, { method: 'POST' });
    if (!flush.ok) throw new Error(`flush failed: ${flush.status}`);
  } finally {
    await server.stop();
  }
  const marker: Marker = { lines: LINES, endMs, needle: NEEDLE, ingest: { seconds: round(seconds, 1), lines_per_s: Math.round(LINES / seconds) } };
  writeFileSync(markerFile, JSON.stringify(marker, null, 2));
  return marker;
}

const strip = ({ result: _r, ...rest }: { result: unknown }) => rest;

async function queries(server: BenchServer, m: Marker): Promise<Record<string, unknown>> {
  const endNs = BigInt(m.endMs) * 1_000_000n;
  const startNs = endNs - BigInt(DAY_MS) * 1_000_000n;
  const range = `from=${m.endMs - DAY_MS}&to=${m.endMs}`;
  const loki = (path: string, params: Record<string, string>) => `/loki/api/v1/${path}?${new URLSearchParams(params)}`;
  const instant = await timeQuery(server.url, loki('query', { query: 'sum by (service) (count_over_time({service=~".+"}[24h]))', time: endNs.toString() }));
  const counted = instant.result.data.result.reduce((a: number, s: { value: [number, string] }) => a + Number(s.value[1]), 0);
  const panel = await timeQuery(server.url, loki('query_range', { query: 'sum by (service) (count_over_time({service=~".+"}[5m]))', start: startNs.toString(), end: endNs.toString(), step: '300' }));
  const needle = await timeQuery(server.url, `/api/v1/query?q=${NEEDLE}&${range}&limit=100`);
  const needleLogql = await timeQuery(server.url, loki('query_range', { query: `{service=~".+"} |= "${NEEDLE}"`, start: startNs.toString(), end: endNs.toString(), limit: '100' }));
  const common = await timeQuery(server.url, `/api/v1/query?q=block&${range}&limit=100`);
  const commonLogql = await timeQuery(server.url, loki('query_range', { query: '{service=~".+"} |= "block"', start: startNs.toString(), end: endNs.toString(), limit: '100' }));
  const topHosts = await timeQuery(server.url, `/api/v1/fields/host/values?${range}&limit=10`);
  const topServices = await timeQuery(server.url, `/api/v1/fields/service/values?${range}&limit=10`);
  const volume = await timeQuery(
    server.url,
    loki('query_range', { query: 'sum by (level, detected_level) (count_over_time({service="hdfs"} | drop __error__[300s]))', start: startNs.toString(), end: endNs.toString(), step: '300000ms' }),
  );
  const labels = await timeQuery(server.url, loki('labels', { start: startNs.toString(), end: endNs.toString() }));
  return {
    stored_lines: counted,
    count_over_time_by_service_24h_instant: strip(instant),
    count_over_time_by_service_24h_panel_5m: strip(panel),
    needle_search: { query: NEEDLE, hits: needle.result.records.length, ...strip(needle) },
    needle_logql: { query: `{service=~".+"} |= "${NEEDLE}"`, ...strip(needleLogql) },
    common_word_search: { query: 'block', ...strip(common) },
    common_word_logql: strip(commonLogql),
    top_values_host: strip(topHosts),
    top_values_service: strip(topServices),
    logs_volume_hdfs_24h: strip(volume),
    labels_24h: strip(labels),
  };
}

/** Probe lines sent while background ingest runs; each one's time from POST to arrival on a tail WebSocket. */
async function tailLatency(server: BenchServer): Promise<Record<string, unknown>> {
  const background = loghubBodies(200_000, 1000, { spanMs: 60_000 });
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/tail?q=tailprobe`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.on('message', (data) => {
    const now = performance.now();
    const m = JSON.parse(data.toString()) as { records?: { message: string }[] };
    for (const r of m.records ?? []) {
      const seq = Number(/tailprobe (\d+)/.exec(r.message)?.[1]);
      const t = sentAt.get(seq);
      if (t !== undefined) latencies.push(now - t);
    }
  });
  const stopBackground = backgroundLoad(server.url, background.bodies);
  const probes = 300;
  try {
    for (let seq = 0; seq < probes; seq++) {
      sentAt.set(seq, performance.now());
      await fetch(`${server.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: JSON.stringify({ message: `tailprobe ${seq}` }) });
      await new Promise((r) => setTimeout(r, 20));
    }
    const deadline = Date.now() + 10_000;
    while (latencies.length < probes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await stopBackground();
    ws.close();
  }
  latencies.sort((a, b) => a - b);
  return { probes, received: latencies.length, background_lines_per_s: 25_000, p50_ms: round(percentile(latencies, 50)), p99_ms: round(percentile(latencies, 99)), max_ms: round(latencies.at(-1)!) };
}

const started = new Date();
const marker = await ingestOnce();
const server = await startBenchServer({ dataDir: DATA, keepData: true });
let results: Record<string, any>;
try {
  const load = loadavg()[0]!;
  const q = await queries(server, marker);
  console.log(JSON.stringify(q, null, 1));
  const tail = await tailLatency(server);
  console.log('tail', tail);
  results = {
    suite: 'query',
    date: started.toISOString(),
    machine: { cores: availableParallelism(), node: process.version, load_average_1m_before: round(load, 2), note: 'client and server share the machine' },
    parameters: { loghub_lines: LINES, data: DATA, ingest: marker.ingest },
    queries: q,
    tail,
  };
} finally {
  await server.stop();
}
const name = quick ? 'query-quick' : 'query';
writeResults(name, results);
console.log(`wrote bench/results/${name}.json`);

const q = results.queries;
const ms = (x: { median_ms: number; cold_ms: number }) => `${x.median_ms} ms (cold ${x.cold_ms})`;
const rows: [string, string, string][] = [
  ['count_over_time by service over 24 h (instant, one 24 h window)', ms(q.count_over_time_by_service_24h_instant), '≤ 300 ms'],
  ['count_over_time by service, 24 h panel of 5 m windows (288 steps)', ms(q.count_over_time_by_service_24h_panel_5m), ''],
  [`Needle search (${q.needle_search.hits} hits)`, `${ms(q.needle_search)} · LogQL \`\\|=\`: ${ms(q.needle_logql)}`, '≤ 1 s'],
  ['Common-word search, newest 100', `${ms(q.common_word_search)} · LogQL: ${ms(q.common_word_logql)}`, ''],
  ['Top values of a field (host · service)', `${ms(q.top_values_host)} · ${ms(q.top_values_service)}`, '≤ 500 ms'],
  ["Grafana's logs volume for a service, 24 h", ms(q.logs_volume_hdfs_24h), ''],
  ['Labels over 24 h (Grafana "Save & test", label browser)', ms(q.labels_24h), ''],
  ['Live tail, ingest to WebSocket, under 25k lines/s', `p50 ${results.tail.p50_ms} ms, p99 ${results.tail.p99_ms} ms`, 'p99 ≤ 1 s'],
];
updateDocSection(
  quick ? 'query-quick' : 'query',
  '## Query: LogQL, search, top values, live tail',
  [
    `Measured ${results.date.slice(0, 10)} on ${results.machine.cores} cores, Node ${results.machine.node}, over ${q.stored_lines.toLocaleString('en')} stored Loghub lines spread over 24 h (load average ${results.machine.load_average_1m_before} when the queries started; ${results.machine.note}). Median of 6 warm runs, first (cold) run in parentheses. Raw data: \`bench/results/${quick ? 'query-quick' : 'query'}.json\`.`,
    '',
    '| measure | result | target |',
    '|---|---|---|',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n'),
);
