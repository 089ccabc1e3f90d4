/**
 * `npm run bench:forward`: lines/s into the store through the Fluentd forward
 * protocol, against a real `cairn server` child process with a forward
 * listener. Counted until the ack of every message arrived (an ack is sent
 * only once its records are durable).
 *
 * The load is what Fluent Bit's tail input ships: Loghub lines as `{log: line}`
 * records with an EventTime, one tag per file, grouped into messages as a
 * Fluent Bit chunk is (PackedForward; CompressedPackedForward with
 * `Compress gzip`; Forward mode for Fluentd v0.12-style senders), each
 * message with `chunk` and `size` options. Each connection waits for a
 * message's ack before it sends the next, as Fluent Bit and Fluentd do with
 * require_ack_response. Messages are encoded before the clock starts, so the
 * client's own encoding cost is not counted; client and server share the
 * machine.
 *
 * For scale, the same lines also go through Cairn's own NDJSON API in the same
 * run: the shared machine's load moves all rows.
 *
 * Options: --lines N per mode (default 1M; --quick 200k), --per-message N
 * (default 2000), --connections N (default 4).
 * Results: bench/results/forward.json and a section of docs/benchmarks.md.
 */
import { parseArgs } from 'node:util';
import { availableParallelism, loadavg } from 'node:os';
import { datasetNames, loadRawLines } from './lib/loghub.ts';
import { sendAll, startBenchServer, type BenchServer } from './lib/server.ts';
import { freePort } from '../test/helpers/server.ts';
import { updateDocSection, writeResults } from './lib/report.ts';
import { ForwardClient, entry, eventTime, forwardMode, packedForward } from '../test/helpers/forward.ts';
import { decodeEventMessage } from '../src/sources/forward/protocol.ts';
import { recordFromFluent } from '../src/sources/forward/mapping.ts';

const { values } = parseArgs({
  options: {
    lines: { type: 'string' },
    'per-message': { type: 'string' },
    connections: { type: 'string' },
    quick: { type: 'boolean' },
  },
});
const LINES = Number(values.lines ?? (values.quick ? 200_000 : 1_000_000));
const PER_MESSAGE = Number(values['per-message'] ?? 2000);
const CONNECTIONS = Number(values.connections ?? 4);

interface Line {
  tag: string;
  sec: number;
  nsec: number;
  line: string;
}

/** Loghub lines round-robin over the files, timestamps spread over the last day. */
function lines(total: number): Line[] {
  const names = datasetNames();
  const data = names.map((n) => loadRawLines(n));
  const endMs = Date.now();
  const out: Line[] = [];
  for (let i = 0; i < total; i++) {
    const d = i % names.length;
    const file = data[d]!;
    const ms = endMs - 86_400_000 + Math.floor((i / total) * 86_400_000);
    out.push({ tag: `loghub.${names[d]!.toLowerCase()}`, sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 + (i % 1000), line: file[Math.floor(i / names.length) % file.length]! });
  }
  return out;
}

type Mode = 'packed' | 'compressed' | 'forward';

/** Messages of PER_MESSAGE entries of one tag each (a Fluent Bit chunk holds one tag). */
function messages(all: Line[], mode: Mode): { frames: Buffer[]; bytes: number } {
  const byTag = new Map<string, Line[]>();
  for (const l of all) {
    let list = byTag.get(l.tag);
    if (!list) byTag.set(l.tag, (list = []));
    list.push(l);
  }
  const frames: Buffer[] = [];
  let n = 0;
  for (const [tag, list] of byTag) {
    for (let i = 0; i < list.length; i += PER_MESSAGE) {
      const slice = list.slice(i, i + PER_MESSAGE);
      const entries = slice.map((l) => entry(eventTime(l.sec, l.nsec), { log: l.line }));
      const option = { chunk: `bench-${mode}-${n++}`, size: slice.length };
      if (mode === 'forward') frames.push(forwardMode(tag, entries, option));
      else if (mode === 'packed') frames.push(packedForward(tag, entries, option));
      else frames.push(packedForward(tag, entries, { ...option, compressed: 'gzip' }, { gzip: true }));
    }
  }
  return { frames, bytes: frames.reduce((s, f) => s + f.length, 0) };
}

/** CONNECTIONS connections, each sending its share one message at a time and waiting for the ack. */
async function sendForward(port: number, frames: Buffer[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    const client = await ForwardClient.connect(port);
    try {
      for (let i = next++; i < frames.length; i = next++) {
        client.write(frames[i]!);
        const ack = (await client.next(120_000)) as { ack?: string };
        if (typeof ack?.ack !== 'string') throw new Error(`unexpected answer ${JSON.stringify(ack)}`);
      }
    } finally {
      client.close();
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
}

function ndjson(all: Line[]): { bodies: Buffer[]; bytes: number } {
  const bodies: Buffer[] = [];
  for (let i = 0; i < all.length; i += PER_MESSAGE) {
    const text = all
      .slice(i, i + PER_MESSAGE)
      .map((l) => JSON.stringify({ ts: `${l.sec}${String(l.nsec).padStart(9, '0')}`, unit: l.tag, message: l.line }))
      .join('\n');
    bodies.push(Buffer.from(text));
  }
  return { bodies, bytes: bodies.reduce((s, b) => s + b.length, 0) };
}

async function measure(server: BenchServer, count: number, bytes: number, work: () => Promise<unknown>): Promise<Record<string, number>> {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, server.memory().rss)), 250);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    lines: count,
    seconds: Math.round(seconds * 100) / 100,
    lines_per_s: Math.round(count / seconds),
    mb_per_s_wire: Math.round((bytes / seconds / 1e6) * 10) / 10,
    wire_bytes_per_line: Math.round(bytes / count),
    peak_rss_mb: Math.round(Math.max(peak, server.memory().rss) / 2 ** 20),
  };
}

/** The source's own share, in this process on one thread: decoding messages and mapping their events to records. */
async function parseOnly(frames: Buffer[], count: number): Promise<number> {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    for (const frame of frames) {
      const message = await decodeEventMessage(frame, { maxMessageBytes: 1 << 30, maxRecords: 1e9 });
      for (const e of message.events) recordFromFluent(message.tag, e.time, e.record, e.metadata, { tenant: 'bench', nowNs: 0n, tagField: 'unit', keepRaw: false });
    }
    best = Math.max(best, count / ((performance.now() - started) / 1000));
  }
  return Math.round(best);
}

function table(r: Record<string, any>): string {
  const row = (name: string, m: Record<string, number>) =>
    `| ${name} | ${m.lines_per_s!.toLocaleString('en')} | ${m.mb_per_s_wire} | ${m.wire_bytes_per_line} | ${m.peak_rss_mb} MiB |`;
  return [
    `Measured ${r.date.slice(0, 10)} on ${r.machine.cores} cores (load average ${r.machine.load_average_at_start} at start), Node ${r.machine.node}; ${r.machine.note}.`,
    `Parameters: ${r.parameters.lines.toLocaleString('en')} Loghub lines per mode, ${r.parameters.lines_per_message} lines per message, ${r.parameters.connections} connections, one unacknowledged message per connection. Raw data: \`bench/results/forward.json\`. Target: ≥ 100k lines/s (forward).`,
    '',
    '| transport | lines/s (acked = durable) | MB/s on the wire | bytes/line | server peak RSS |',
    '|---|---|---|---|---|',
    row('forward PackedForward', r.packed_forward),
    row('forward CompressedPackedForward (gzip)', r.compressed_packed_forward),
    row('forward Forward mode', r.forward_mode),
    row('HTTP NDJSON /api/v1/logs (baseline, same lines)', r.http_ndjson_baseline),
    '',
    `The forward source's own work (decoding PackedForward messages and mapping the events to records, one thread, no store) runs at ${r.parse_only_lines_per_s.toLocaleString('en')} lines/s: the rows above are bounded by the store and the shared machine, not by the protocol.`,
  ].join('\n');
}

async function main(): Promise<void> {
  const all = lines(LINES);
  const port = await freePort();
  const loadAtStart = Math.round(loadavg()[0]! * 10) / 10;
  const server = await startBenchServer({ env: { CAIRN_SOURCES__FORWARD__LISTEN: `127.0.0.1:${port}` } });
  const results: Record<string, any> = {
    suite: 'forward',
    date: new Date().toISOString(),
    machine: {
      cores: availableParallelism(),
      node: process.version,
      load_average_at_start: loadAtStart,
      note: 'client and server share the machine; compare rows of one run (the baseline row moves with the machine\'s load)',
    },
    parameters: { lines: LINES, lines_per_message: PER_MESSAGE, connections: CONNECTIONS },
  };
  try {
    for (const [key, mode] of [['packed_forward', 'packed'], ['compressed_packed_forward', 'compressed'], ['forward_mode', 'forward']] as const) {
      const { frames, bytes } = messages(all, mode);
      results[key] = await measure(server, LINES, bytes, () => sendForward(port, frames));
      if (mode === 'packed') results.parse_only_lines_per_s = await parseOnly(frames, LINES);
      console.log(key, results[key]);
    }
    const { bodies, bytes } = ndjson(all);
    results.http_ndjson_baseline = await measure(server, LINES, bytes, () => sendAll(server.url, bodies, CONNECTIONS));
    console.log('http_ndjson_baseline', results.http_ndjson_baseline);
  } finally {
    await server.stop();
  }
  writeResults('forward', results);
  updateDocSection('forward', '## Fluentd forward protocol', table(results));
}

await main();
