/**
 * `npm run bench:agent`: the agent's file collection end to end, and its
 * recovery after a server outage, with real processes: a `cairn server`
 * child (gRPC listener), a `cairn agent` child following files, and a
 * generator (this process) appending Loghub lines to the files while the
 * agent runs.
 *
 * 1. Throughput: the generator appends N lines over F files as fast as it
 *    can; the clock runs from the first line written to the last line
 *    acknowledged by the server (the agent's cairn_agent_records_sent_total).
 *    Three runs one after another (the host's speed varies); the median is
 *    reported. The agent's peak RSS (VmHWM) is read at the end.
 * 2. Recovery: the server is stopped, M lines are written and buffered by the
 *    agent, the server starts again; recovery time = from the server being
 *    ready to all M lines acknowledged.
 *
 * Options: --lines N (default 1M; --quick 200k), --files F (default 4), --runs R (throughput
 * runs, default 3, the median is reported; --quick 1), --default-v8 (run the
 * agent without AGENT_NODE_FLAGS), --agent-flags="..." (Node flags for the agent instead of
 * AGENT_NODE_FLAGS, e.g. to compare settings or add --cpu-prof),
 * --outage-lines M (default 200k; --quick 50k).
 * Results: bench/results/agent.json and a section of docs/benchmarks.md.
 */
import { parseArgs } from 'node:util';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { datasetNames, loadRawLines } from './lib/loghub.ts';
import { cpuSeconds, processMemory, startBenchServer, type BenchServer } from './lib/server.ts';
import { freePort } from '../test/helpers/server.ts';
import { updateDocSection, writeResults } from './lib/report.ts';
import { AGENT_NODE_FLAGS } from '../src/agent/service.ts';

const { values } = parseArgs({
  options: {
    lines: { type: 'string' },
    files: { type: 'string' },
    'outage-lines': { type: 'string' },
    quick: { type: 'boolean' },
    'default-v8': { type: 'boolean' },
    'agent-flags': { type: 'string' },
    runs: { type: 'string' },
  },
});
const LINES = Number(values.lines ?? (values.quick ? 200_000 : 1_000_000));
const FILES = Number(values.files ?? 4);
const RUNS = Number(values.runs ?? (values.quick ? 1 : 3));
const OUTAGE_LINES = Number(values['outage-lines'] ?? (values.quick ? 50_000 : 200_000));
const ROOT = resolve(import.meta.dirname, '..');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const source = datasetNames().flatMap((d) => loadRawLines(d));

async function agentMetrics(metricsUrl: string): Promise<string> {
  try {
    return await (await fetch(metricsUrl)).text();
  } catch {
    return '';
  }
}

function counterIn(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function agentCounter(metricsUrl: string, name: string): Promise<number> {
  return counterIn(await agentMetrics(metricsUrl), name);
}

/** Store commits the server made and their mean duration. */
async function serverCommits(url: string): Promise<{ count: number; mean_ms: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = Number(/^store_commit_seconds_sum (\S+)/m.exec(text)?.[1] ?? 0);
  const count = Number(/^store_commit_seconds_count (\S+)/m.exec(text)?.[1] ?? 0);
  return { count, mean_ms: count ? Math.round((sum / count) * 1000) : 0 };
}

/** Appends `count` lines (numbered from `from`) round-robin over the files, in chunks, yielding between chunks. */
async function generate(files: string[], from: number, count: number, onProgress?: (written: number) => void): Promise<number> {
  let bytes = 0;
  const chunk = 2000;
  for (let done = 0; done < count; done += chunk) {
    const n = Math.min(chunk, count - done);
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const k = from + done + i;
      lines.push(`${source[k % source.length]} #${k}`);
    }
    const text = lines.join('\n') + '\n';
    bytes += Buffer.byteLength(text);
    appendFileSync(files[(done / chunk) % files.length]!, text);
    onProgress?.(done + n);
    await new Promise((r) => setImmediate(r));
  }
  return bytes;
}

async function main() {
  const work = mkdtempSync(join(process.env.CAIRN_BENCH_DIR ?? tmpdir(), 'cairn-bench-agent-'));
  const grpcPort = await freePort();
  const serverData = join(work, 'server');
  const env = { CAIRN_SOURCES__GRPC__LISTEN: `127.0.0.1:${grpcPort}` };
  let server: BenchServer = await startBenchServer({ dataDir: serverData, env });
  const files = Array.from({ length: FILES }, (_, i) => join(work, 'logs', `app-${i}.log`));
  mkdirSync(join(work, 'logs'));
  for (const f of files) writeFileSync(f, '');
  const metricsPort = await freePort();
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const agentYaml = join(work, 'agent.yaml');
  writeFileSync(
    agentYaml,
    stringify({
      server: { url: `grpc://127.0.0.1:${grpcPort}`, reconnect_min: '100ms', reconnect_max: '1s' },
      agent: { data_dir: join(work, 'agent') },
      metrics: { listen: `127.0.0.1:${metricsPort}` },
      ship: { batch_records: 5000 },
      log: { level: 'warn' },
      inputs: { files: [{ paths: [join(work, 'logs', '*.log')], poll_interval: '50ms' }] },
    }),
  );
  // The agent runs as the service units run it (AGENT_NODE_FLAGS; --default-v8: Node's defaults, for comparison).
  const flags = values['agent-flags'] !== undefined ? values['agent-flags'].split(/\s+/).filter(Boolean) : values['default-v8'] ? [] : AGENT_NODE_FLAGS;
  const agent: ChildProcess = spawn(process.execPath, [...flags, join(ROOT, 'bin', 'cairn.js'), 'agent', '--config', agentYaml], { stdio: ['ignore', 'ignore', 'inherit'] });
  const agentPid = agent.pid!;
  for (let i = 0; i < 100 && (await agentCounter(metricsUrl, 'cairn_agent_connected')) !== 1; i++) await sleep(100);
  const load = loadavg()[0]!;
  await sleep(1000);
  const idleRss = Math.round(processMemory(agentPid).rss / 2 ** 20);

  type Throughput = Awaited<ReturnType<typeof measureThroughput>>;
  async function measureThroughput(from: number) {
    console.error(`writing ${LINES.toLocaleString('en')} lines over ${FILES} files while the agent ships them ...`);
    let peakServer = 0;
    const cpuBefore = { agent: cpuSeconds(agentPid), server: cpuSeconds(server.pid) };
    const started = performance.now();
    const agentMem: Record<string, number> = {};
    // One scrape every 100 ms for everything the run watches: a scrape costs the
    // agent about a millisecond of CPU, so polling each value on its own would
    // take a noticeable share of the agent's time (Prometheus scrapes every 15 s).
    let sent = 0;
    const sampler = setInterval(async () => {
      peakServer = Math.max(peakServer, server.memory().rss);
      const text = await agentMetrics(metricsUrl);
      sent = Math.max(sent, counterIn(text, 'cairn_agent_records_sent_total'));
      for (const name of ['cairn_agent_nodejs_heap_size_used_bytes', 'cairn_agent_nodejs_heap_size_total_bytes', 'cairn_agent_nodejs_external_memory_bytes', 'cairn_agent_process_resident_memory_bytes']) {
        agentMem[name] = Math.max(agentMem[name] ?? 0, Math.round(counterIn(text, name) / 2 ** 20));
      }
    }, 100);
    const bytes = await generate(files, from, LINES);
    const writtenAt = performance.now();
    while (sent < from + LINES) await sleep(10);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    return {
      lines: LINES,
      files: FILES,
      mb_written: Math.round((bytes / 1e6) * 10) / 10,
      generator_seconds: Math.round(((writtenAt - started) / 1000) * 100) / 100,
      seconds: Math.round(seconds * 100) / 100,
      lines_per_s: Math.round(LINES / seconds),
      agent_idle_rss_mb: idleRss,
      // VmHWM: the peak since the agent started, so this run's and every run's before it.
      agent_peak_rss_mb: Math.round(processMemory(agentPid).peak / 2 ** 20),
      server_peak_rss_mb: Math.round(peakServer / 2 ** 20),
      agent_cpu_seconds: Math.round((cpuSeconds(agentPid) - cpuBefore.agent) * 10) / 10,
      server_commits: await serverCommits(server.url),
      agent_memory_mb: agentMem,
      server_cpu_seconds: Math.round((cpuSeconds(server.pid) - cpuBefore.server) * 10) / 10,
    };
  }

  // 1. Throughput, RUNS times on the same agent and server (lines numbered on); the median run is reported.
  const runs: Throughput[] = [];
  for (let run = 0; run < RUNS; run++) {
    runs.push(await measureThroughput(run * LINES));
    console.error(JSON.stringify(runs.at(-1)));
  }
  const throughput = [...runs].sort((a, b) => a.lines_per_s - b.lines_per_s)[Math.floor(runs.length / 2)]!;

  // 2. Recovery after an outage.
  await server.stop();
  console.error(`server stopped; writing ${OUTAGE_LINES.toLocaleString('en')} lines during the outage ...`);
  await generate(files, RUNS * LINES, OUTAGE_LINES);
  const readTarget = RUNS * LINES + OUTAGE_LINES;
  while ((await agentCounter(metricsUrl, 'cairn_agent_records_read_total\\{[^}]*\\}')) < readTarget) await sleep(100);
  // The agent refreshes its buffer gauges once a second.
  await sleep(1500);
  const bufferBytes = await agentCounter(metricsUrl, 'cairn_agent_buffer_bytes');
  const back = performance.now();
  server = await startBenchServer({ dataDir: serverData, env });
  const ready = performance.now();
  while ((await agentCounter(metricsUrl, 'cairn_agent_records_sent_total')) < readTarget) await sleep(100);
  const done = performance.now();
  const recovery = {
    buffered_lines: OUTAGE_LINES,
    buffer_mb: Math.round((bufferBytes / 2 ** 20) * 10) / 10,
    server_start_seconds: Math.round(((ready - back) / 1000) * 100) / 100,
    recovery_seconds: Math.round(((done - ready) / 1000) * 100) / 100,
    drain_lines_per_s: Math.round(OUTAGE_LINES / ((done - ready) / 1000)),
    agent_peak_rss_mb: Math.round(processMemory(agentPid).peak / 2 ** 20),
  };
  console.error(JSON.stringify(recovery));
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  await server.stop();
  rmSync(work, { recursive: true, force: true });

  const result = {
    suite: 'agent',
    date: new Date().toISOString(),
    machine: {
      cores: availableParallelism(),
      node: process.version,
      load_average_at_start: Math.round(load * 10) / 10,
      note: 'generator, agent and server share the machine (2 cores); see the load average for other work',
      agent_node_flags: flags.join(' ') || '(Node defaults)',
    },
    file_collection: { ...throughput, agent_peak_rss_mb: runs.at(-1)!.agent_peak_rss_mb, median_of: runs.map((r) => r.lines_per_s) },
    outage_recovery: recovery,
    targets: { lines_per_s: 50_000, agent_rss_mb: 150 },
  };
  writeResults('agent', result);
  updateDocSection(
    'agent',
    '## Agent: file collection and outage recovery',
    [
      `Measured ${result.date.slice(0, 10)} on ${result.machine.cores} cores (load average ${result.machine.load_average_at_start} at the start), Node ${process.version}, agent run with \`${result.machine.agent_node_flags}\` as the service units run it; ${result.machine.note}. Raw data: \`bench/results/agent.json\`.`,
      '',
      '| measure | result | target |',
      '|---|---|---|',
      `| File collection end to end (${LINES.toLocaleString('en')} Loghub lines over ${FILES} files, written while shipping; acknowledged = stored) | ${throughput.lines_per_s.toLocaleString('en')} lines/s (median of ${RUNS} runs: ${runs.map((r) => r.lines_per_s.toLocaleString('en')).join(', ')}) | ≥ 50,000 lines/s |`,
      `| Agent peak RSS over all runs and the outage (idle, after start: ${throughput.agent_idle_rss_mb} MiB) | ${recovery.agent_peak_rss_mb} MiB (${Math.round((recovery.agent_peak_rss_mb * 2 ** 20) / 1e6)} MB) | ≤ 150 MB |`,
      `| Agent CPU per line (agent process alone, median run) | ${Math.round((throughput.agent_cpu_seconds / LINES) * 1e7) / 10} µs (${Math.round(LINES / throughput.agent_cpu_seconds).toLocaleString('en')} lines per CPU-second) | |`,
      `| Server CPU per line (gRPC stream, pipeline with template mining, store) | ${Math.round((throughput.server_cpu_seconds / LINES) * 1e7) / 10} µs | |`,
      `| Recovery after a server outage (${OUTAGE_LINES.toLocaleString('en')} lines buffered, ${recovery.buffer_mb} MiB) | all acknowledged ${recovery.recovery_seconds} s after the server was ready (${recovery.drain_lines_per_s.toLocaleString('en')} lines/s) | |`,
      '',
      `Every line is distinct (a running number ends it), so the server mines templates the slow way and compresses real variety. File collection is bounded by the two cores that the generator, the agent and the server share: per line, the agent\'s CPU plus the server\'s is ${Math.round(((throughput.agent_cpu_seconds + throughput.server_cpu_seconds) / LINES) * 1e6)} µs, so even with both cores busy on nothing else the end-to-end rate could not pass ${Math.round(((2 * LINES) / (throughput.agent_cpu_seconds + throughput.server_cpu_seconds)) / 1000)}k lines/s.`,
    ].join('\n'),
  );
}

await main();
