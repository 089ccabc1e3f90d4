/**
 * Pathological input through every stage at once (filter, parse with every
 * format and library pattern, enrich with GeoIP, redact with every rule, the
 * template miner): a 1 MB line, 10k-deep JSON, lines made to trip each
 * built-in regex, catastrophic user regexes, binary garbage, invalid UTF-8.
 * Nothing throws, nothing is lost, each batch finishes in bounded time, and
 * the failures are on the records and in the metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/components.ts';
import { validateConfig } from '../src/config/load.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { buildPipeline } from '../src/pipeline/build.ts';
import { PATTERN_NAMES } from '../src/pipeline/parse/patterns.ts';
import { TemplateStore } from '../src/pipeline/templates/store.ts';
import { newRecord, type LogRecord } from '../src/record/record.ts';
import { silentLogger } from '../src/util/logger.ts';

const NOW = 1_750_000_000_000_000_000n;
const MB = 1024 * 1024;

function pipelineWithEverything() {
  const config = validateConfig(
    {
      pipeline: {
        stages: {
          gate: { type: 'filter', drop: 'message:/(a+)+$/ AND host:/^never-(x+)+y$/', sample: { one_in: 1000, where: 'host:/(z|zz)+$/' } },
          structure: { type: 'parse', format: ['json', 'logfmt', ...PATTERN_NAMES, 'kv', 'regex'], regex: ['^(?P<a>(a+)+)$', '(?P<b>(\\w+\\s?)*)!$'] },
          context: { type: 'enrich', geoip: {}, catalog: { entries: [{ host: '*never*', service: 'x' }] }, static: { env: 'test' } },
          mask: { type: 'redact', custom: [{ name: 'evil', regex: '(a|aa)+$' }, { name: 'counted', regex: '(x{1,40})+y' }] },
        },
      },
    },
    'test',
  );
  const metrics = createMetrics({ defaultMetrics: false });
  const templates = new TemplateStore({ dir: null, snapshotIntervalMs: 0, logger: silentLogger });
  const pipeline = buildPipeline({ config, metrics, logger: silentLogger, templates });
  return { pipeline, metrics };
}

const hostile: [string, string][] = [
  ['1 MB of a', 'a'.repeat(MB)],
  ['1 MB of digits', '1'.repeat(MB)],
  ['1 MB of dotted digits', '1.'.repeat(MB / 2)],
  ['1 MB of hex and colons', 'a:'.repeat(MB / 2)],
  ['1 MB of at signs and words', 'a@'.repeat(MB / 2)],
  ['1 MB of key=value', 'k=v '.repeat(MB / 4)],
  ['1 MB of quotes', '"'.repeat(MB)],
  ['1 MB of brackets', '['.repeat(MB)],
  ['1 MB of eyJ', 'eyJ.'.repeat(MB / 4)],
  ['1 MB of spaces then !', ' '.repeat(MB) + '!'],
  ['10k-deep JSON object', '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)],
  ['10k-deep JSON array', '['.repeat(10_000) + ']'.repeat(10_000)],
  ['100 KB for (a+)+$', 'a'.repeat(100_000) + '!'],
  ['100 KB of words for (\\w+\\s?)*!$', 'ab '.repeat(33_000) + '?'],
  ['64 KB of x for (x{1,40})+y', 'x'.repeat(64 * 1024)],
  ['nginx-like with 60 KB request', '1.2.3.4 - - [17/May/2015:08:05:32 +0000] "GET /' + '\\'.repeat(60_000)],
  ['sudo-like with many separators', 'u : ' + 'TTY=x ; '.repeat(8000)],
  ['syslog-like header repeated', 'Oct 11 22:14:15 host app: '.repeat(2000)],
  ['kernel-like uptime brackets', '[ 1.0] '.repeat(9000)],
  ['card-like groups', '4111 '.repeat(20_000)],
  ['private key without an end', '-----BEGIN RSA PRIVATE KEY-----' + 'A'.repeat(500_000)],
];

function garbage(n: number, seed: number): string {
  let x = seed;
  const bytes = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes.toString('latin1');
}

test('hostile lines through every stage: bounded time, nothing thrown, nothing lost, failures recorded and counted', async () => {
  const { pipeline, metrics } = pipelineWithEverything();
  const inputs: [string, string][] = [
    ...hostile,
    ['binary garbage (latin1)', garbage(200_000, 7)],
    ['binary garbage with NULs', '\u0000'.repeat(1000) + garbage(1000, 9)],
    ['invalid UTF-8 decoded', new TextDecoder().decode(Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, ...Buffer.from(' password=x 10.0.0.1')]))],
    ['lone surrogates', '\ud800abc\udfff user=\ud83d bob@example.com'],
  ];
  for (const [name, message] of inputs) {
    const records: LogRecord[] = [
      newRecord({ tenant: 'acme', host: 'h', message, raw: message.slice(0, 100_000), attrs: { payload: message.slice(0, 100_000) } }, NOW),
    ];
    const started = performance.now();
    const out = await pipeline.process(records, { source: 'http', tenant: 'acme' });
    const ms = performance.now() - started;
    assert.equal(out.length, 1, `${name}: the record is kept`);
    assert.ok(ms < 5000, `${name}: ${Math.round(ms)} ms`);
    assert.equal(typeof out[0]!.message, 'string');
    assert.doesNotThrow(() => JSON.stringify(out[0]!.attrs), `${name}: attrs stay storable`);
  }
  const errors = await metrics.pipelineErrors.get();
  const parseErrors = errors.values.find((v) => v.labels.stage === 'structure')?.value ?? 0;
  assert.ok(parseErrors >= 12, `parse refused the 1 MB lines and the deep JSON (${parseErrors} errors counted)`);
  await pipeline.close();
});

test('a record that fails parse keeps its failure in attrs.pipeline_error and continues through the other stages', async () => {
  const { pipeline } = pipelineWithEverything();
  const deep = '{"mail":"bob@example.com","a":' + '['.repeat(100) + ']'.repeat(100) + '}';
  const [r] = await pipeline.process([newRecord({ tenant: 'acme', host: 'h', message: deep }, NOW)], { source: 'http', tenant: 'acme' });
  assert.deepEqual(r!.attrs.pipeline_error, { stage: 'structure', error: 'JSON nested deeper than 32 levels (parse max_depth)' });
  assert.ok(r!.message.includes('[REDACTED:email]'), 'redact still ran');
  assert.match(r!.template_id ?? '', /^[0-9a-f]{16}$/, 'templates still ran');
  await pipeline.close();
});

test('a stage that throws for a whole batch costs that stage only, never the records', async () => {
  const { pipeline, metrics } = pipelineWithEverything();
  const records = [newRecord({ tenant: 'acme', host: 'h', message: 'ok line' }, NOW)];
  // A record whose attrs cannot be walked (a getter that throws) breaks every stage that reads attrs.
  Object.defineProperty(records[0]!.attrs, 'boom', { enumerable: true, get: () => { throw new Error('hostile attrs'); } });
  const out = await pipeline.process(records, { source: 'http', tenant: 'acme' });
  assert.equal(out.length, 1);
  const counted = (await metrics.pipelineErrors.get()).values.reduce((sum, v) => sum + v.value, 0);
  assert.ok(counted >= 1);
  await pipeline.close();
});
