/**
 * `npm run bench:syslog`: syslog TCP lines/s into the store. Loghub lines go
 * from this process over N parallel TCP connections to a real `cairn server`
 * child process, once with octet counting (RFC 5424 messages with the
 * structured data `logger` adds, as rsyslog's RSYSLOG_SyslogProtocol23Format
 * or syslog-ng's syslog() driver send them) and once with newline framing (RFC 3164, rsyslog's
 * traditional forwarding). Syslog has no acknowledgements, so "stored" is read
 * from the server: the clock stops when log_processed_total{source="syslog"}
 * on /metrics reaches the number of lines sent. Server CPU seconds per line are
 * reported too: unlike lines/s they barely move with the shared machine's load.
 *
 * For scale, the same Loghub lines also go as NDJSON through POST /api/v1/logs
 * in the same run (acknowledged = durable).
 *
 * Options: --lines N per run (default 1M; --quick 300k), --connections N (default 4).
 * Results: bench/results/syslog.json and a section of docs/benchmarks.md.
 */
import { parseArgs } from 'node:util';
import { connect, type Socket } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { datasetNames, loadRawLines } from './lib/loghub.ts';
import { loghubBodies } from './lib/generate.ts';
import { cpuSeconds, sendAll, startBenchServer, type BenchServer } from './lib/server.ts';
import { updateDocSection, writeResults } from './lib/report.ts';
import { freePort } from '../test/helpers/server.ts';

const { values } = parseArgs({
  options: {
    lines: { type: 'string' },
    connections: { type: 'string' },
    quick: { type: 'boolean' },
  },
});
const LINES = Number(values.lines ?? (values.quick ? 300_000 : 1_000_000));
const CONNECTIONS = Number(values.connections ?? 4);
const HOSTS = 50;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

type Framing = 'octet-counting' | 'newline';

/** Each connection's bytes (lines dealt round-robin), and the raw Loghub bytes they carry. */
function generate(framing: Framing): { streams: Buffer[]; wireBytes: number; rawBytes: number } {
  const names = datasetNames();
  const data = names.map((n) => loadRawLines(n));
  const perConnection: string[][] = Array.from({ length: CONNECTIONS }, () => []);
  const startMs = Date.now() - 3_600_000;
  let rawBytes = 0;
  for (let i = 0; i < LINES; i++) {
    const d = i % names.length;
    const lines = data[d]!;
    const line = lines[Math.floor(i / names.length) % lines.length]!;
    rawBytes += Buffer.byteLength(line);
    const app = names[d]!.toLowerCase();
    const host = `host-${String(i % HOSTS).padStart(2, '0')}`;
    const pri = (i % 24) * 8 + (i % 8);
    const at = new Date(startMs + Math.floor((i / LINES) * 3_600_000));
    let frame: string;
    if (framing === 'octet-counting') {
      const msg = `<${pri}>1 ${at.toISOString()} ${host} ${app} ${1000 + (i % 5000)} - [timeQuality tzKnown="1" isSynced="1"] ${line}`;
      frame = `${Buffer.byteLength(msg)} ${msg}`;
    } else {
      const stamp = `${MONTHS[at.getMonth()]} ${String(at.getDate()).padStart(2, ' ')} ${at.toTimeString().slice(0, 8)}`;
      frame = `<${pri}>${stamp} ${host} ${app}[${1000 + (i % 5000)}]: ${line}\n`;
    }
    perConnection[i % CONNECTIONS]!.push(frame);
  }
  const streams = perConnection.map((parts) => Buffer.from(parts.join('')));
  return { streams, wireBytes: streams.reduce((a, s) => a + s.length, 0), rawBytes };
}

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

/** Sum of a series over every label set containing `labels`. */
function metricSum(text: string, name: string, labels = ''): number {
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? ([0-9.e+-]+)$`, 'gm'))) {
    if ((m[1] ?? '').includes(labels)) total += Number(m[2]);
  }
  return total;
}

/** Writes a stream in 64 KiB pieces, waiting for 'drain' as TCP flow control asks. */
async function send(socket: Socket, data: Buffer): Promise<void> {
  const piece = 64 * 1024;
  for (let off = 0; off < data.length; off += piece) {
    if (!socket.write(data.subarray(off, off + piece))) await new Promise((r) => socket.once('drain', r));
  }
  await new Promise<void>((r) => socket.end(r));
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Samples the server's RSS and CPU while `work` runs. */
async function measure(server: BenchServer, work: () => Promise<void>): Promise<{ seconds: number; cpu: number; peakRss: number }> {
  let peakRss = 0;
  const timer = setInterval(() => (peakRss = Math.max(peakRss, server.memory().rss)), 250);
  const cpu0 = cpuSeconds(server.pid);
  const t0 = performance.now();
  try {
    await work();
    return { seconds: (performance.now() - t0) / 1000, cpu: cpuSeconds(server.pid) - cpu0, peakRss: Math.max(peakRss, server.memory().rss) };
  } finally {
    clearInterval(timer);
  }
}

async function runSyslog(framing: Framing): Promise<Record<string, unknown>> {
  console.log(`generating ${LINES.toLocaleString('en')} lines (${framing})...`);
  const gen = generate(framing);
  const port = await freePort();
  const server = await startBenchServer({ env: { CAIRN_SOURCES__SYSLOG__TCP: `127.0.0.1:${port}` } });
  try {
    const m = await measure(server, async () => {
      const sockets = await Promise.all(
        gen.streams.map(
          () =>
            new Promise<Socket>((resolve, reject) => {
              const s = connect(port, '127.0.0.1', () => resolve(s));
              s.once('error', reject);
            }),
        ),
      );
      const sent = Promise.all(sockets.map((s, i) => send(s, gen.streams[i]!)));
      while (metricSum(await metrics(server.url), 'log_processed_total', 'source="syslog"') < LINES) await new Promise((r) => setTimeout(r, 50));
      await sent;
    });
    const text = await metrics(server.url);
    const r = {
      framing,
      message_format: framing === 'octet-counting' ? 'RFC 5424 with structured data' : 'RFC 3164',
      lines: LINES,
      seconds: round(m.seconds, 2),
      lines_per_s: Math.round(LINES / m.seconds),
      mb_per_s_wire: round(gen.wireBytes / m.seconds / 1e6),
      wire_bytes_per_line: Math.round(gen.wireBytes / LINES),
      server_cpu_us_per_line: round((m.cpu / LINES) * 1e6),
      peak_rss_mb: Math.round(m.peakRss / 1024 / 1024),
      store_commits: metricSum(text, 'store_commit_seconds_count'),
      queue_full_refusals: metricSum(text, 'log_errors_total', 'reason="queue_full"'),
    };
    console.log(r);
    return r;
  } finally {
    await server.stop();
  }
}

async function runHttpBaseline(): Promise<Record<string, unknown>> {
  const gen = loghubBodies(LINES, 5000, { hosts: HOSTS });
  const server = await startBenchServer({});
  try {
    const m = await measure(server, async () => {
      await sendAll(server.url, gen.bodies, CONNECTIONS);
    });
    const r = {
      lines: LINES,
      seconds: round(m.seconds, 2),
      lines_per_s: Math.round(LINES / m.seconds),
      mb_per_s_wire: round(gen.wireBytes / m.seconds / 1e6),
      wire_bytes_per_line: Math.round(gen.wireBytes / LINES),
      server_cpu_us_per_line: round((m.cpu / LINES) * 1e6),
      peak_rss_mb: Math.round(m.peakRss / 1024 / 1024),
    };
    console.log('http baseline', r);
    return r;
  } finally {
    await server.stop();
  }
}

function table(r: Record<string, any>): string {
  const row = (label: string, x: any) =>
    `| ${label} | ${x.lines_per_s.toLocaleString('en')} lines/s | ${x.mb_per_s_wire} MB/s (${x.wire_bytes_per_line} B/line) | ${x.server_cpu_us_per_line} µs | ${x.peak_rss_mb} MiB |`;
  return [
    `Measured ${r.date.slice(0, 10)} on ${r.machine.cores} cores (load average ${r.machine.load_average_at_start} at the start), Node ${r.machine.node}; ${r.machine.note}.`,
    `${r.parameters.lines.toLocaleString('en')} Loghub lines per run over ${r.parameters.connections} TCP connections; stored = counted in log_processed_total. Target: ${r.target}. Raw data: \`bench/results/syslog.json\`.`,
    '',
    '| transport | into the store | wire | server CPU per line | server peak RSS |',
    '|---|---|---|---|---|',
    row('Syslog TCP, octet counting, RFC 5424', r.tcp_octet_counting),
    row('Syslog TCP, newline framing, RFC 3164', r.tcp_newline),
    row('Baseline: the same lines as NDJSON to /api/v1/logs', r.http_ndjson_baseline),
  ].join('\n');
}

const results: Record<string, unknown> = {
  suite: 'syslog',
  date: new Date().toISOString(),
  machine: {
    cores: availableParallelism(),
    node: process.version,
    load_average_at_start: round(loadavg()[0]!),
    note: "client and server share the machine; compare rows of one run (all move with the machine's load)",
  },
  parameters: { lines: LINES, connections: CONNECTIONS },
  target: 'syslog TCP ≥ 100k lines/s into the store',
};
results.tcp_octet_counting = await runSyslog('octet-counting');
results.tcp_newline = await runSyslog('newline');
results.http_ndjson_baseline = await runHttpBaseline();
writeResults('syslog', results);
updateDocSection('syslog', '## Syslog', table(results));
console.log('wrote bench/results/syslog.json and docs/benchmarks.md');
