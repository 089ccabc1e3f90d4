/**
 * Web UI benchmark: how quick the UI feels over a real store, measured in
 * Debian's chromium (playwright-core) against a `cairn server` child process.
 *
 *   load      opening Explore (/?q=) until the histogram and the first rows show
 *   search    typing a query + Enter until the new histogram and rows show
 *             (a rare word, a field filter with a severity, a common word, an attr)
 *   scroll    scrolling the results until 10,000 records are loaded
 *   bundle    the JavaScript and CSS the browser downloads, raw and gzipped
 *
 *   node bench/ui.ts [--records N] [--runs N]      (npm run bench:ui)
 *
 * Each timing is the median of --runs (default 5) after one cold run.
 * Writes bench/results/ui.json and its section of docs/benchmarks.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type Page } from 'playwright-core';
import { syntheticJsonBodies } from './lib/generate.ts';
import { sendAll, startBenchServer } from './lib/server.ts';
import { updateDocSection, writeResults } from './lib/report.ts';

const { values } = parseArgs({ options: { records: { type: 'string' }, runs: { type: 'string' } } });
const RECORDS = Number(values.records ?? 1_000_000);
const RUNS = Number(values.runs ?? 5);
const ROOT = join(import.meta.dirname, '..');
const log = (text: string) => process.stderr.write(`${text}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x);

function bundle() {
  const dir = join(ROOT, 'web', 'dist', 'assets');
  const out = { js_bytes: 0, js_gzip_bytes: 0, css_bytes: 0, css_gzip_bytes: 0 };
  for (const name of readdirSync(dir)) {
    const data = readFileSync(join(dir, name));
    const kind = name.endsWith('.js') ? 'js' : name.endsWith('.css') ? 'css' : null;
    if (!kind) continue;
    out[`${kind}_bytes`] += data.length;
    out[`${kind}_gzip_bytes`] += gzipSync(data).length;
  }
  return out;
}

/** Resolves once the histogram and the results of the current search are on screen. */
function shown(page: Page) {
  return page.waitForFunction(
    () => {
      const hist = document.querySelector('section[aria-label="Matches over time"] header')?.textContent ?? '';
      const results = document.querySelector('section[aria-label="Results"] header')?.textContent ?? '';
      const rows = document.querySelector('.rec') !== null || document.querySelector('.empty') !== null;
      return /records?/.test(hist) && /loaded/.test(results) && rows;
    },
    undefined,
    { polling: 'raf', timeout: 120_000 },
  );
}

async function time(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

declare const document: { querySelector(s: string): { textContent: string | null } | null };

log(`ingesting ${RECORDS.toLocaleString('en')} records over the last hour...`);
const server = await startBenchServer();
try {
  const data = syntheticJsonBodies(RECORDS, 5000, { spanMs: 3_300_000 });
  const ingest = await sendAll(server.url, data.bodies, 4);
  log(`ingested in ${ingest.seconds.toFixed(1)} s`);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();

  const load: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    load.push(await time(async () => {
      await page.goto(`${server.url}/`);
      await shown(page);
    }));
  }
  log(`load: ${load.map(round).join(', ')} ms`);

  const queries = {
    rare_word: 'zzznotthere',
    filter: 'service:checkout level>=err',
    common_word: 'handled',
    attr: 'http.status:404',
  };
  const search: Record<string, { cold_ms: number; median_ms: number }> = {};
  const box = page.getByRole('combobox', { name: 'Search query' });
  for (const [name, q] of Object.entries(queries)) {
    const runs: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      await page.goto(`${server.url}/?q=${encodeURIComponent(i % 2 ? 'x' : 'y')}`);
      await shown(page);
      await box.fill(q);
      runs.push(await time(async () => {
        await box.press('Enter');
        await page.waitForURL((u) => u.searchParams.get('q') === q);
        await shown(page);
      }));
    }
    search[name] = { cold_ms: round(runs[0]!), median_ms: round(median(runs.slice(1))) };
    log(`search ${name} (${q}): ${runs.map(round).join(', ')} ms`);
  }

  const scroll = await time(async () => {
    await page.goto(`${server.url}/`);
    await shown(page);
    const list = page.getByRole('grid', { name: 'Matching records' });
    for (;;) {
      await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
      if (Number(await list.getAttribute('aria-rowcount')) >= 10_000) break;
      await page.waitForTimeout(20);
    }
  });
  log(`scroll to 10,000 records: ${round(scroll)} ms`);
  await browser.close();

  const results = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, node: process.versions.node, load_average_1m_at_end: Math.round(loadavg()[0]! * 100) / 100, note: 'server, generator and browser share the machine' },
    parameters: { records: RECORDS, runs: RUNS, viewport: '1280x800' },
    load: { cold_ms: round(load[0]!), median_ms: round(median(load.slice(1))) },
    search: Object.fromEntries(Object.entries(search).map(([k, v]) => [k, { query: queries[k as keyof typeof queries], ...v }])),
    scroll_10k_ms: round(scroll),
    bundle: bundle(),
  };
  writeResults('ui', results);
  const kib = (n: number) => `${Math.round(n / 1024)} KiB`;
  const s = results.search;
  updateDocSection(
    'ui',
    '## Web UI',
    [
      `Measured ${results.date.slice(0, 10)} on ${results.machine.cores} cores (${results.machine.note}), chromium at 1280×800, ${RECORDS.toLocaleString('en')} records over the last hour; median of ${RUNS} runs after a cold one. Raw data: \`bench/results/ui.json\` (\`npm run bench:ui\`).`,
      '',
      '| measure | median | cold |',
      '|---|---|---|',
      `| Open Explore until the histogram and first rows show | ${results.load.median_ms} ms | ${results.load.cold_ms} ms |`,
      ...Object.values(s).map((v) => `| Search \`${v.query}\` until histogram and rows show | ${v.median_ms} ms | ${v.cold_ms} ms |`),
      `| Scroll until 10,000 records are loaded | ${results.scroll_10k_ms} ms | |`,
      `| JavaScript / CSS downloaded (gzip) | ${kib(results.bundle.js_gzip_bytes)} / ${kib(results.bundle.css_gzip_bytes)} | |`,
    ].join('\n'),
  );
  log(JSON.stringify(results, null, 2));
} finally {
  await server.stop();
}
