/**
 * EVTX parsing rate: records/s and MB/s over the sample files, each parsed
 * repeatedly until a stable duration has passed (after a warm-up pass).
 * Measures the whole per-record path of `cairn import` before sending: BinXML
 * → XML text + WindowsEvent → normalized LogRecord → ingest JSON line.
 *
 *   node bench/evtx.ts [--seconds 5]    → bench/results/evtx.json
 */
import { readFileSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { updateDocSection, writeResults } from './lib/report.ts';
import { bufferSource, EvtxReader } from '../src/agent/evtx/reader.ts';
import { recordForIngest } from '../src/client/logs.ts';
import { normalizeWindowsEvent } from '../src/record/normalize/windows.ts';
import { EVTX_DIR, SAMPLES } from '../test/helpers/evtx.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' } } });
const seconds = Number(values.seconds);

interface Row {
  file: string;
  bytes: number;
  records: number;
  passes: number;
  records_per_s: number;
  mb_per_s: number;
  /** Parsing only (XML text + WindowsEvent), without normalizing and serializing. */
  parse_only_records_per_s: number;
}

function pass(data: Buffer, normalize: boolean): number {
  const reader = new EvtxReader(bufferSource(data));
  let n = 0;
  const now = 0n;
  for (const rec of reader.records()) {
    if (normalize) JSON.stringify(recordForIngest(normalizeWindowsEvent(rec.event, now)));
    n++;
  }
  return n;
}

function measure(data: Buffer, normalize: boolean): { records: number; passes: number; elapsed: number } {
  pass(data, normalize); // warm-up
  let records = 0;
  let passes = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    records += pass(data, normalize);
    passes++;
    elapsed = performance.now() - started;
  }
  return { records, passes, elapsed };
}

const loadBefore = loadavg()[0]!;
const rows: Row[] = [];
for (const file of SAMPLES) {
  const path = join(EVTX_DIR, file);
  const data = readFileSync(path);
  const full = measure(data, true);
  const parseOnly = measure(data, false);
  const row: Row = {
    file,
    bytes: statSync(path).size,
    records: full.records / full.passes,
    passes: full.passes,
    records_per_s: Math.round(full.records / (full.elapsed / 1000)),
    mb_per_s: Math.round(((data.length * full.passes) / 1e6 / (full.elapsed / 1000)) * 10) / 10,
    parse_only_records_per_s: Math.round(parseOnly.records / (parseOnly.elapsed / 1000)),
  };
  rows.push(row);
  console.log(`${file.padEnd(36)} ${String(row.records).padStart(5)} records  ${String(row.records_per_s).padStart(7)} records/s  ${String(row.mb_per_s).padStart(6)} MB/s  (parse only ${row.parse_only_records_per_s} records/s)`);
}
const totalRecords = rows.reduce((s, r) => s + r.records * r.passes, 0);
const totalSeconds = rows.reduce((s, r) => s + (r.records * r.passes) / r.records_per_s, 0);
const result = {
  benchmark: 'evtx',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  /** 1-minute load average before and after: above the core count, other work shared the CPUs and the numbers are low. */
  load_average: [Math.round(loadBefore * 10) / 10, Math.round(loadavg()[0]! * 10) / 10],
  note: 'single thread; file bytes read from memory; includes XML rendering, WindowsEvent mapping, normalization and JSON serialization',
  seconds_per_file: seconds,
  overall_records_per_s: Math.round(totalRecords / totalSeconds),
  files: rows,
};
console.log(`overall ${result.overall_records_per_s} records/s`);
writeResults('evtx', result);
updateDocSection(
  'evtx',
  '## Windows .evtx parsing',
  [
    `Measured ${result.date.slice(0, 10)} with \`npm run bench:evtx\` (one thread, Node ${process.version}, load average ${result.load_average[0]} at the start; file bytes in memory; includes BinXML rendering, the Windows mapping, normalization and JSON serialization), on the files in \`../shared/data/windows/\`. Raw data: \`bench/results/evtx.json\`.`,
    '',
    '| file | records | records/s | parsing alone |',
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.file} | ${r.records.toLocaleString('en')} | ${r.records_per_s.toLocaleString('en')} | ${r.parse_only_records_per_s.toLocaleString('en')} |`),
    `| **all files** | | **${result.overall_records_per_s.toLocaleString('en')}** | |`,
  ].join('\n'),
);
