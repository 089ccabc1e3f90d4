/**
 * Template mining benchmark: speed on one core (mining alone, and the
 * pipeline on records), measured first while the process is fresh; then
 * grouping accuracy on every Loghub 2k sample with the one production
 * configuration, plus each rule switched off and the sibling threshold varied
 * to show what each contributes, and accuracy on the larger varied stream.
 *
 *   node --expose-gc bench/templates.ts [--lines N] [--seconds S]   (npm run bench:templates)
 *
 * Writes bench/results/templates.json.
 */
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { updateDocSection, writeResults } from './lib/report.ts';
import { DEFAULT_MINER_RULES, DEFAULT_SIBLING_VALUES, TemplateMiner, type MinerRules } from '../src/pipeline/templates/miner.ts';
import { TemplateStore } from '../src/pipeline/templates/store.ts';
import '../src/pipeline/templates/index.ts';
import { buildPipeline } from '../src/pipeline/build.ts';
import { validateConfig } from '../src/config/load.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { newRecord, type LogRecord } from '../src/record/record.ts';
import { silentLogger } from '../src/util/logger.ts';
import { groupingAccuracy, loghubAccuracy, mineIds, type AccuracyReport } from './lib/accuracy.ts';
import { datasetNames, loadStructured } from './lib/loghub.ts';
import { flat, random, variedStreams } from './lib/varied.ts';

const { values } = parseArgs({ options: { lines: { type: 'string' }, seconds: { type: 'string' } } });
const VARIED_LINES = Number(values.lines ?? 1_000_000);
const SECONDS = Number(values.seconds ?? 3);

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;
const log = (text: string) => process.stderr.write(text + '\n');

function summary(report: AccuracyReport) {
  return {
    average: round(report.average),
    min: round(report.min),
    per_dataset: Object.fromEntries(report.datasets.map((d) => [d.dataset, round(d.accuracy)])),
  };
}

// --- a larger, realistic stream ------------------------------------------------

const { streams, mixed } = variedStreams(VARIED_LINES);
const names = datasetNames();

// --- speed ----------------------------------------------------------------------

const loghubMessages = flat(names.flatMap((n) => loadStructured(n).map((r) => r.content)));

/** Messages per second mining `messages` over and over for `seconds` with one warm miner. */
function repeatedRate(messages: string[], seconds: number): number {
  const miner = new TemplateMiner();
  for (const m of messages) miner.mine(m);
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    for (const m of messages) miner.mine(m);
    n += messages.length;
  }
  return n / ((performance.now() - started) / 1000);
}

/** Messages per second mining `messages` once with a fresh miner (template creation included). */
/** Heap in use after a full collection (needs --expose-gc; NaN without it). */
function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return NaN;
  gc();
  return process.memoryUsage().heapUsed;
}

interface ColdRun {
  rate: number;
  templates: number;
  evicted: number;
  /** Heap held by the miner afterwards (templates, key cache, evicted templates the cache still holds), and per live template. */
  heapBytes: number;
  bytesPerTemplate: number;
}

/** Mines `messages` once with a fresh miner (template creation included). */
function coldRun(messages: string[]): ColdRun {
  const before = heapUsed();
  const miner = new TemplateMiner();
  const started = performance.now();
  for (const m of messages) miner.mine(m);
  const rate = messages.length / ((performance.now() - started) / 1000);
  const heapBytes = heapUsed() - before;
  return { rate, templates: miner.size, evicted: miner.evictions, heapBytes, bytesPerTemplate: heapBytes / miner.size };
}

const loghubRate = repeatedRate(loghubMessages, SECONDS);
log(`mining, Loghub 20k repeated: ${Math.round(loghubRate)} messages/s`);
const variedCold = coldRun(mixed);
log(`mining, varied stream of ${mixed.length} once (fresh miner): ${Math.round(variedCold.rate)} messages/s, ${variedCold.templates} templates, ${(variedCold.heapBytes / 1e6).toFixed(1)} MB heap`);
const variedWarm = repeatedRate(mixed, SECONDS);
log(`mining, varied stream repeated: ${Math.round(variedWarm)} messages/s`);

/**
 * The worst cases: every message a new template (random words in fixed
 * places), so every message takes the slow path and, past max_templates,
 * evicts. Short lines (3 words) and long ones (200 words).
 */
function worstCase(n: number, words: number): ColdRun {
  const next = random(7);
  const word = () => Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(next() * 26))).join('');
  const messages = flat(Array.from({ length: n }, () => Array.from({ length: words }, word).join(' ')));
  return coldRun(messages);
}
const worst = worstCase(100_000, 3);
log(`mining, worst case, short lines all different: ${Math.round(worst.rate)} messages/s, ${worst.evicted} evicted, ${(worst.heapBytes / 1e6).toFixed(1)} MB heap for ${worst.templates} templates`);
const worstLong = worstCase(30_000, 200);
log(`mining, worst case, long lines all different: ${Math.round(worstLong.rate)} messages/s, ${(worstLong.heapBytes / 1e6).toFixed(1)} MB heap for ${worstLong.templates} templates`);

/** Lines per second through the pipeline (every stage there is; today the templates stage) in batches like the queue's. */
async function pipelineRate(messages: string[], batch: number): Promise<number> {
  const config = validateConfig({}, 'bench');
  const templates = new TemplateStore({ dir: null, snapshotIntervalMs: 0, logger: silentLogger });
  templates.open();
  const pipeline = buildPipeline({ config, metrics: createMetrics({ defaultMetrics: false }), logger: silentLogger, templates });
  const base = 1_700_000_000_000_000_000n;
  const batches: LogRecord[][] = [];
  for (let i = 0; i < messages.length; i += batch) {
    batches.push(messages.slice(i, i + batch).map((message, j) => newRecord({ message, tenant: 'bench', host: `host-${j % 50}` }, base + BigInt(i + j))));
  }
  const started = performance.now();
  for (const b of batches) await pipeline.process(b, { source: 'bench', tenant: 'bench' });
  const rate = messages.length / ((performance.now() - started) / 1000);
  await pipeline.close();
  await templates.close();
  return rate;
}

const pipelineLines = await pipelineRate(mixed, 32_768);
log(`pipeline (templates stage), varied stream: ${Math.round(pipelineLines)} lines/s`);

// --- accuracy ---------------------------------------------------------------

const production = loghubAccuracy();
log('dataset      GA      templates (truth)');
for (const d of production.datasets) log(`${d.dataset.padEnd(12)} ${d.accuracy.toFixed(4)}  ${d.templates} (${d.truth_templates})`);
log(`average ${production.average.toFixed(4)}  min ${production.min.toFixed(4)}`);

const ablation: Record<string, ReturnType<typeof summary>> = {};
for (const rule of Object.keys(DEFAULT_MINER_RULES) as (keyof MinerRules)[]) {
  ablation[`without ${rule}`] = summary(loghubAccuracy({ rules: { [rule]: false } }));
  log(`without ${rule.padEnd(16)} average ${ablation[`without ${rule}`]!.average}  min ${ablation[`without ${rule}`]!.min}`);
}
const siblingSweep: Record<string, ReturnType<typeof summary>> = {};
for (const k of [2, 3, 4, 5, 6, 8]) {
  siblingSweep[String(k)] = summary(loghubAccuracy({ siblingValues: k }));
  log(`sibling values ${k}  average ${siblingSweep[String(k)]!.average}  min ${siblingSweep[String(k)]!.min}`);
}

const variedAccuracy = streams.map((s) => ({ dataset: s.name, messages: s.lines.length, accuracy: round(groupingAccuracy(s.truth, mineIds(s.lines))) }));
log(`varied stream (${streams[0]!.lines.length} lines per dataset): ${variedAccuracy.map((d) => `${d.dataset} ${d.accuracy}`).join(', ')}`);


const result = {
  benchmark: 'templates',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version, load_average_1m_at_end: Math.round(loadavg()[0]! * 100) / 100, note: 'one core (single-threaded)' },
  configuration: { sibling_values: DEFAULT_SIBLING_VALUES, rules: DEFAULT_MINER_RULES },
  accuracy: {
    average: round(production.average),
    min: round(production.min),
    datasets: production.datasets.map((d) => ({ ...d, accuracy: round(d.accuracy) })),
  },
  ablation,
  sibling_values_sweep: siblingSweep,
  varied_stream_accuracy: variedAccuracy,
  speed: {
    mining_loghub_repeated_messages_per_s: Math.round(loghubRate),
    mining_varied_cold_messages_per_s: Math.round(variedCold.rate),
    mining_varied_repeated_messages_per_s: Math.round(variedWarm),
    varied_stream_lines: mixed.length,
    varied_stream_templates: variedCold.templates,
    mining_worst_case_messages_per_s: Math.round(worst.rate),
    mining_worst_case_long_messages_per_s: Math.round(worstLong.rate),
    pipeline_lines_per_s: Math.round(pipelineLines),
    pipeline_stages: ['templates'],
  },
  memory: {
    note: 'heap held by one miner (one tenant) after mining: templates, key cache, evicted templates the cache still holds',
    varied_stream: { templates: variedCold.templates, heap_mb: round(variedCold.heapBytes / 1e6, 1) },
    worst_case_short: { templates: worst.templates, heap_mb: round(worst.heapBytes / 1e6, 1), bytes_per_template: Math.round(worst.bytesPerTemplate) },
    worst_case_long: { templates: worstLong.templates, heap_mb: round(worstLong.heapBytes / 1e6, 1), bytes_per_template: Math.round(worstLong.bytesPerTemplate) },
  },
};
writeResults('templates', result);
const lowest = result.accuracy.datasets.reduce((a, b) => (b.accuracy < a.accuracy ? b : a));
const rate = (n: number) => `${Math.round(n).toLocaleString('en')}`;
updateDocSection(
  'templates',
  '## Template mining',
  [
    `Measured ${result.date.slice(0, 10)} with \`npm run bench:templates\` (one core, Node ${process.version}, load average ${result.machine.load_average_1m_at_end} at the end). Raw data: \`bench/results/templates.json\`; [patterns.md](patterns.md) has accuracy per dataset and the ablations.`,
    '',
    '| measure | result | target |',
    '|---|---|---|',
    `| Grouping accuracy, Loghub 2k, one configuration for all ten sets | average ${result.accuracy.average}, min ${result.accuracy.min} (${lowest.dataset}) | avg ≥ 0.93, none < 0.80 |`,
    `| Mining a ${mixed.length.toLocaleString('en')}-line stream with every value varied, fresh miner (${variedCold.templates} templates) | ${rate(variedCold.rate)} messages/s | ≥ 200k/s per core |`,
    `| Same stream, warm miner | ${rate(variedWarm)} messages/s | |`,
    `| Messages seen before verbatim (the exact-message cache) | ${rate(loghubRate)} messages/s | |`,
    `| The templates stage in the pipeline, on records | ${rate(pipelineLines)} lines/s | |`,
    `| Worst case: every line a new template, short / 200-word lines | ${rate(worst.rate)} / ${rate(worstLong.rate)} messages/s | |`,
    `| Heap of one tenant's miner: ${variedCold.templates} templates / worst cases at the template cap | ${result.memory.varied_stream.heap_mb} MB / ${result.memory.worst_case_short.heap_mb} MB and ${result.memory.worst_case_long.heap_mb} MB | |`,
  ].join('\n'),
);
log('wrote bench/results/templates.json and docs/benchmarks.md');
