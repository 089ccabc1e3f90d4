/**
 * Pipeline benchmark: lines per second through every stage on one thread
 * (this process, no store): parse (the syslog header, then sshd, kernel or
 * key=value), filter (a query, plus 1-in-10 sampling of debug lines), enrich
 * (static fields, a service catalog, trace/correlation ids, GeoIP), redact
 * (every built-in rule), templates. Records are the Loghub 2k samples as
 * raw lines, with a client address on a quarter of them (so GeoIP works),
 * in batches like the queue's, fresh records for every pass.
 *
 *   node bench/pipeline.ts [--lines N] [--batch N]   (npm run bench:pipeline)
 *
 * Lines per CPU second of this thread is the figure (lines/s per core); wall
 * time is reported too, but on a shared machine it counts other work.
 * Writes bench/results/pipeline.json. Target: ≥ 100k lines/s per core.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import '../src/components.ts';
import { validateConfig } from '../src/config/load.ts';
import { updateDocSection, writeResults } from './lib/report.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { buildPipeline } from '../src/pipeline/build.ts';
import { TemplateStore } from '../src/pipeline/templates/store.ts';
import { newRecord, type Attrs, type LogRecord } from '../src/record/record.ts';
import { silentLogger } from '../src/util/logger.ts';
import { datasetNames, loadRawLines } from './lib/loghub.ts';

const { values } = parseArgs({ options: { lines: { type: 'string' }, batch: { type: 'string' } } });
const LINES = Number(values.lines ?? 300_000);
const BATCH = Number(values.batch ?? 2048);
const log = (text: string) => process.stderr.write(text + '\n');

const STAGES = {
  header: { type: 'parse', format: 'syslog' },
  detail: { type: 'parse', format: ['sshd', 'kernel', 'kv'] },
  gate: { type: 'filter', drop: 'severity=debug env:production', sample: { one_in: 10, where: 'level=debug' } },
  context: {
    type: 'enrich',
    static: { env: 'production', dc: 'fra1' },
    catalog: {
      entries: [
        { host: 'LabSZ', service: 'ssh-gateway', team: 'platform' },
        { host: 'combo', service: 'legacy', team: 'ops' },
        { unit: 'kernel', service: 'kernel', team: 'ops' },
        ...Array.from({ length: 20 }, (_, i) => ({ host: `web-${i}`, service: 'shop', team: 'checkout' })),
        { host: '*', service: 'unknown' },
      ],
    },
    geoip: {},
  },
  mask: { type: 'redact' },
};
const ROUTE = ['header', 'detail', 'gate', 'context', 'mask', 'templates'];

const PUBLIC_IPS = ['8.8.8.8', '193.99.144.80', '151.101.1.69', '104.16.132.229', '2a00:1450:4001:80b::200e', '13.107.42.14', '185.199.108.153', '1.1.1.1'];

const names = datasetNames();
const lines = names.flatMap((name) => loadRawLines(name).map((line) => ({ name, line })));
log(`${lines.length} Loghub lines from ${names.length} datasets; ${LINES.toLocaleString('en')} records in batches of ${BATCH}`);

function makeBatches(): LogRecord[][] {
  const now = BigInt(Date.now()) * 1_000_000n;
  const batches: LogRecord[][] = [];
  let batch: LogRecord[] = [];
  for (let i = 0; i < LINES; i++) {
    const { name, line } = lines[i % lines.length]!;
    const attrs: Attrs = i % 4 === 0 ? { client_ip: PUBLIC_IPS[i % PUBLIC_IPS.length]! } : {};
    batch.push(newRecord({ tenant: 'bench', host: '', unit: name, message: line, severity: i % 7 === 0 ? 7 : 6, attrs }, now));
    if (batch.length === BATCH) {
      batches.push(batch);
      batch = [];
    }
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

async function run(stageNames: string[]) {
  const config = validateConfig({ pipeline: { stages: STAGES, routes: [{ match: {}, stages: stageNames }], anomalies: { enabled: false } } }, 'bench');
  const metrics = createMetrics({ defaultMetrics: false });
  const templates = new TemplateStore({ dir: null, snapshotIntervalMs: 0, logger: silentLogger });
  const pipeline = buildPipeline({ config, metrics, logger: silentLogger, templates });
  const ctx = { source: 'bench', tenant: 'bench' };
  // Warm-up pass (JIT, caches, template discovery), then the measured one.
  for (const b of makeBatches().slice(0, 20)) await pipeline.process(b, ctx);
  const batches = makeBatches();
  metrics.registry.resetMetrics();
  let out = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  for (const b of batches) out += (await pipeline.process(b, ctx)).length;
  const cpu = process.cpuUsage(cpuStart);
  const seconds = (performance.now() - started) / 1000;
  // CPU time is what one core spent, whatever else the shared machine was running.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const perStage: Record<string, number> = {};
  for (const v of (await metrics.pipelineStageSeconds.get()).values) {
    if (v.metricName === 'pipeline_stage_seconds_sum') perStage[String(v.labels.stage)] = Math.round(v.value * 1000) / 1000;
  }
  await pipeline.close();
  return {
    lines_per_cpu_s: Math.round(LINES / cpuSeconds),
    lines_per_wall_s: Math.round(LINES / seconds),
    cpu_seconds: Math.round(cpuSeconds * 1000) / 1000,
    wall_seconds: Math.round(seconds * 1000) / 1000,
    records_out: out,
    stage_wall_seconds: perStage,
  };
}

const load = loadavg()[0]!;
const all = await run(ROUTE);
log(`all stages: ${all.lines_per_cpu_s.toLocaleString('en')} lines per CPU second (wall: ${all.lines_per_wall_s.toLocaleString('en')} lines/s; ${all.records_out} of ${LINES} kept)`);
log(`  wall seconds per stage: ${JSON.stringify(all.stage_wall_seconds)}`);
const withoutTemplates = await run(ROUTE.filter((s) => s !== 'templates'));
log(`without templates: ${withoutTemplates.lines_per_cpu_s.toLocaleString('en')} lines per CPU second`);

const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  load_average_at_start: Math.round(load * 100) / 100,
  note: 'one thread, no store; lines per CPU second = lines/s per core; see the load average for other work',
  lines: LINES,
  batch: BATCH,
  route: ROUTE,
  stages: STAGES,
  all_stages: all,
  without_templates: withoutTemplates,
  target_lines_per_s: 100_000,
};
writeResults('pipeline', result);
const stageShare = (() => {
  const w = all.stage_wall_seconds as Record<string, number>;
  const total = Object.values(w).reduce((a, b) => a + b, 0);
  const pct = (names: string[]) => Math.round((names.reduce((a, n) => a + (w[n] ?? 0), 0) / total) * 100);
  return `redact ${pct(['mask'])}%, parse ${pct(['header', 'detail'])}% (two stages), enrich ${pct(['context'])}%, templates ${pct(['templates'])}%, filter ${pct(['gate'])}%`;
})();
updateDocSection(
  'pipeline',
  '## Pipeline: every stage',
  [
    `Measured ${result.date.slice(0, 10)} with \`npm run bench:pipeline\` (Node ${process.version}, one thread, no store, load average ${result.load_average_at_start} at the start): ${LINES.toLocaleString('en')} records built from the Loghub 2k samples (a public client address on a quarter of them), batches of ${BATCH}, route \`header (parse syslog) → detail (parse sshd, kernel, kv) → gate (filter + 1-in-10 sampling) → context (enrich: static, catalog, ids, GeoIP) → mask (redact, every rule) → templates\`. Raw data: \`bench/results/pipeline.json\`. Target: ≥ 100k lines/s per core.`,
    '',
    '| measure | result | target |',
    '|---|---|---|',
    `| all stages, lines per CPU second of the thread (= lines/s per core) | ${all.lines_per_cpu_s.toLocaleString('en')} | ≥ 100k |`,
    `| all stages, lines per wall second | ${all.lines_per_wall_s.toLocaleString('en')} | |`,
    `| without the templates stage, lines per CPU second | ${withoutTemplates.lines_per_cpu_s.toLocaleString('en')} | |`,
    `| share of the time per stage | ${stageShare} | |`,
    '',
    'CPU time includes the process\'s GC threads, so it errs on the slow side. Redaction dominates because every rule (emails, IPs, cards with a Luhn check, bearer tokens, keys, custom) scans every message.',
  ].join('\n'),
);
log(`wrote bench/results/pipeline.json and docs/benchmarks.md`);
