/**
 * Syslog TCP ingest: Loghub lines sent by this process over N parallel TCP
 * connections to a real `cairn server` child process, once with octet
 * counting (RFC 5424 messages, as rsyslog/syslog-ng send with RFC 5425
 * framing) and once with newline framing (RFC 3164 messages, rsyslog's
 * traditional forwarding). Syslog has no acknowledgements, so "stored" is
 * read from the server: the clock stops when log_processed_total{source=
 * "syslog"} on /metrics reaches the number of lines sent.
 *
 * Options: --lines N (default 2M), --connections N (default 4), --quick (500k).
 * Results: bench/results/syslog.json.
 */
import { parseArgs } from 'node:util';
import { connect, type Socket } from 'node:net';
import { cpus } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetNames, loadRawLines } from './lib/loghub.ts';
import { freePort, startBenchServer, type BenchServer } from './lib/server.ts';

const { values } = parseArgs({
  options: {
    lines: { type: 'string' },
    connections: { type: 'string' },
    quick: { type: 'boolean' },
  },
});
const LINES = Number(values.lines ?? (values.quick ? 500_000 : 2_000_000));
const CONNECTIONS = Number(values.connections ?? 4);
const HOSTS = 50;

type Framing = 'octet-counting' | 'newline';

/** Each connection's bytes, and the raw Loghub bytes they carry. */
function generate(framing: Framing): { streams: Buffer[]; wireBytes: number; rawBytes: number } {
  const names = datasetNames();
  const data = names.map((n) => loadRawLines(n));
  const perConnection: string[][] = Array.from({ length: CONNECTIONS }, () => []);
  const startMs = Date.now() - 3_600_000;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
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
    let msg: string;
    if (framing === 'octet-counting') {
      msg = `<${pri}>1 ${at.toISOString()} ${host} ${app} ${1000 + (i % 5000)} - [meta seq="${i}"] ${line}`;
      msg = `${Buffer.byteLength(msg)} ${msg}`;
    } else {
      const stamp = `${months[at.getMonth()]} ${String(at.getDate()).padStart(2, ' ')} ${at.toTimeString().slice(0, 8)}`;
      msg = `<${pri}>${stamp} ${host} ${app}[${1000 + (i % 5000)}]: ${line}\n`;
    }
    perConnection[i % CONNECTIONS]!.push(msg);
  }
  const streams = perConnection.map((parts) => Buffer.from(parts.join('')));
  return { streams, wireBytes: streams.reduce((a, s) => a + s.length, 0), rawBytes };
}

/** CPU seconds the process used so far (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

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

async function run(framing: Framing): Promise<Record<string, unknown>> {
  console.log(`generating ${LINES.toLocaleString('en')} lines (${framing})...`);
  const gen = generate(framing);
  const port = await freePort();
  const server: BenchServer = await startBenchServer({ env: { CAIRN_SOURCES__SYSLOG__TCP: `127.0.0.1:${port}`, ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}) } });
  let peakRss = 0;
  const rss = setInterval(() => (peakRss = Math.max(peakRss, server.memory().rss)), 250);
  try {
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    const sockets = await Promise.all(
      gen.streams.map(
        () =>
          new Promise<Socket>((resolve, reject) => {
            const s = connect(port, '127.0.0.1', () => resolve(s));
            s.once('error', reject);
          }),
      ),
    );
    const sent = Promise.all(sockets.map((s, i) => send(s, gen.streams[i]!))).then(() => performance.now());
    let stored = 0;
    while (stored < LINES) {
      await new Promise((r) => setTimeout(r, 50));
      stored = metricSum(await metrics(server.url), 'log_processed_total', 'source="syslog"');
    }
    const t1 = performance.now();
    const cpu = cpuSeconds(server.pid) - cpu0;
    const m = await metrics(server.url);
    const sentAt = await sent;
    const seconds = (t1 - t0) / 1000;
    const r = {
      framing,
      message_format: framing === 'octet-counting' ? 'RFC 5424' : 'RFC 3164',
      lines: LINES,
      connections: CONNECTIONS,
      seconds: Math.round(seconds * 100) / 100,
      lines_per_s: Math.round(LINES / seconds),
      mb_per_s_wire: Math.round((gen.wireBytes / seconds / 1e6) * 10) / 10,
      mb_per_s_raw: Math.round((gen.rawBytes / seconds / 1e6) * 10) / 10,
      send_finished_s: Math.round(((sentAt - t0) / 1000) * 100) / 100,
      peak_rss_mb: Math.round(peakRss / 1024 / 1024),
      server_cpu_seconds: Math.round(cpu * 100) / 100,
      lines_per_server_cpu_second: Math.round(LINES / cpu),
      store_commits: metricSum(m, 'store_commit_seconds_count'),
      store_busy_fraction: Math.round((metricSum(m, 'store_commit_seconds_sum') / seconds) * 100) / 100,
      queue_full_refusals: metricSum(m, 'log_errors_total', 'reason="queue_full"'),
    };
    console.log(r);
    return r;
  } finally {
    clearInterval(rss);
    await server.stop();
  }
}

const started = new Date();
const octet = await run('octet-counting');
const newline = await run('newline');
const results = {
  suite: 'syslog',
  date: started.toISOString(),
  machine: { cores: cpus().length, node: process.version, note: 'client and server share the machine, which other jobs were using' },
  target: 'syslog TCP ≥ 100k lines/s into the store',
  tcp_octet_counting: octet,
  tcp_newline: newline,
};
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'syslog.json'), JSON.stringify(results, null, 2) + '\n');
console.log(`results: ${join(dir, 'syslog.json')}`);
