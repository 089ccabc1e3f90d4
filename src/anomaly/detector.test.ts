import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/load.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { newRecord, type LogRecord } from '../record/record.ts';
import { silentLogger } from '../util/logger.ts';
import { AnomalyDetector, type AnomalyOptions } from './detector.ts';

const MINUTE_NS = 60_000_000_000n;
const START = 1_750_000_020_000_000_000n - (1_750_000_020_000_000_000n % MINUTE_NS);

interface Harness {
  detector: AnomalyDetector;
  emitted: LogRecord[];
  clock: { now: bigint };
  /** Sends n records of a template/service into the current minute, errors of them at severity err. */
  send(n: number, template: string, service?: string, errors?: number): void;
  /** Moves the clock one minute on and closes the bucket; returns what it emitted. */
  nextMinute(): LogRecord[];
}

function harness(dir: string | null, overrides: Partial<AnomalyOptions> = {}, clock = { now: START }): Harness {
  const options = { ...validateConfig({}, 'test').pipeline.anomalies, learning_period: 0, ...overrides };
  const emitted: LogRecord[] = [];
  const detector = new AnomalyDetector({
    options,
    dir,
    now: () => clock.now,
    emit: (_tenant, records) => emitted.push(...records),
    metrics: createMetrics({ defaultMetrics: false }),
    logger: silentLogger,
  });
  detector.open();
  return {
    detector,
    emitted,
    clock,
    send(n, template, service = 'shop', errors = 0) {
      const records = Array.from({ length: n }, (_, i) =>
        newRecord({ tenant: 'acme', service, template_id: template, severity: i < errors ? 3 : 6, message: `${template} line ${i}` }, clock.now + BigInt(i)),
      );
      detector.observe(records);
    },
    nextMinute() {
      const before = emitted.length;
      clock.now += MINUTE_NS;
      detector.tick();
      return emitted.slice(before);
    },
  };
}

const kinds = (records: LogRecord[]) => records.map((r) => `${(r.attrs.anomaly as { kind: string }).kind}:${r.service}`).sort();
const anomaly = (r: LogRecord) => r.attrs.anomaly as Record<string, unknown>;

test('rate spike and drop per template and per service, after warmup, with evidence', async () => {
  const h = harness(null);
  for (let i = 0; i < 20; i++) {
    h.send(100 + (i % 3), 'tpl-a');
    assert.deepEqual(h.nextMinute().filter((r) => anomaly(r).kind !== 'new_template'), [], `quiet minute ${i}`);
  }
  h.send(400, 'tpl-a');
  const spike = h.nextMinute();
  assert.deepEqual(kinds(spike), ['rate_spike:shop', 'rate_spike:shop']);
  const byTemplate = spike.find((r) => anomaly(r).template_id === 'tpl-a')!;
  const evidence = anomaly(byTemplate);
  assert.equal(evidence.observed, 400);
  assert.ok(Math.abs((evidence.expected as number) - 101) < 2);
  assert.ok((evidence.z as number) > 20);
  assert.equal(evidence.window, '1m');
  assert.equal(evidence.window_end, new Date(Number((START + 21n * MINUTE_NS) / 1_000_000n)).toISOString().replace('Z', '000000Z'));
  assert.equal(byTemplate.type, 'logger');
  assert.equal(byTemplate.severity, 4);
  assert.equal(byTemplate.service, 'shop');
  assert.match(byTemplate.message, /^Rate spike: template tpl-a: 400 in 1m, expected 1\d\d/);
  // Silence: a drop for both keys.
  assert.deepEqual(kinds(h.nextMinute()), ['rate_drop:shop', 'rate_drop:shop']);
  await h.detector.close();
});

test('no flags below min_volume or within cooldown; a regular stream with one extra line is not a spike', async () => {
  const h = harness(null, { min_volume: 50 });
  for (let i = 0; i < 20; i++) {
    h.send(5, 'rare');
    h.send(200, 'steady', 'api');
    h.nextMinute();
  }
  h.send(40, 'rare');
  h.send(201, 'steady', 'api');
  assert.deepEqual(kinds(h.nextMinute()), [], '8x the rare template is still under min_volume; 201 vs 200 is noise');
  h.send(1000, 'steady', 'api');
  assert.equal(h.nextMinute().length, 2);
  h.send(1000, 'steady', 'api');
  assert.deepEqual(kinds(h.nextMinute()), [], 'cooldown: the same key and kind is not flagged again within 10m');
  await h.detector.close();
});

test('error share jump per service', async () => {
  const h = harness(null);
  for (let i = 0; i < 20; i++) {
    h.send(100, 'tpl-a', 'pay', 2);
    h.nextMinute();
  }
  h.send(100, 'tpl-a', 'pay', 60);
  const out = h.nextMinute();
  assert.deepEqual(kinds(out), ['error_share:pay']);
  const e = anomaly(out[0]!);
  assert.deepEqual([e.observed, e.errors, e.records], [0.6, 60, 100]);
  assert.ok(Math.abs((e.expected as number) - 0.02) < 0.005);
  assert.match(out[0]!.message, /^Error share jump: service pay: 60% of 100 records are errors in 1m, expected 2%$/);
  await h.detector.close();
});

test('new templates: flagged once after the learning period, again only after the lookback; capped per bucket', async () => {
  const h = harness(null, { learning_period: 5 * 60_000, max_new_templates_per_bucket: 2, new_template_lookback: 60 * 60_000 });
  h.send(10, 'known');
  h.nextMinute();
  for (let i = 0; i < 5; i++) h.nextMinute();
  h.send(3, 'fresh', 'sshd');
  h.send(10, 'known');
  const out = h.nextMinute();
  assert.deepEqual(kinds(out), ['new_template:sshd']);
  const e = anomaly(out[0]!);
  assert.deepEqual([e.template_id, e.expected, e.observed, e.lookback], ['fresh', 0, 3, '1h']);
  assert.equal(out[0]!.severity, 5);
  h.send(3, 'fresh', 'sshd');
  assert.deepEqual(kinds(h.nextMinute()), []);
  h.clock.now += 61n * MINUTE_NS;
  h.detector.tick();
  h.send(1, 'fresh', 'sshd');
  assert.deepEqual(kinds(h.nextMinute()), ['new_template:sshd'], 'not seen for longer than the lookback: new again');
  for (const t of ['n1', 'n2', 'n3', 'n4']) h.send(1, t);
  const capped = h.nextMinute();
  assert.equal(capped.length, 3);
  assert.equal(anomaly(capped[2]!).templates, 2);
  assert.match(capped[2]!.message, /^2 more new templates/);
  await h.detector.close();
});

test('state survives a restart (templates seen, baselines); a damaged file is set aside', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-anomaly-'));
  try {
    const clock = { now: START };
    const a = harness(dir, {}, clock);
    for (let i = 0; i < 20; i++) {
      a.send(100, 'tpl-a');
      a.nextMinute();
    }
    await a.detector.close();
    assert.ok(existsSync(join(dir, 'acme.json')));
    const b = harness(dir, {}, clock);
    b.send(400, 'tpl-a');
    assert.deepEqual(kinds(b.nextMinute()), ['rate_spike:shop', 'rate_spike:shop'], 'no new warmup, and tpl-a is not new');
    await b.detector.close();
    writeFileSync(join(dir, 'acme.json'), '{not json');
    const c = harness(dir, {}, clock);
    assert.ok(existsSync(join(dir, 'acme.json.bad')));
    c.send(10, 'tpl-a');
    assert.deepEqual(kinds(c.nextMinute()), ['new_template:shop'], 'learning from scratch (learning_period 0 here)');
    await c.detector.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('old records (imports) do not count; keys are bounded', async () => {
  const h = harness(null, { max_keys: 10 });
  const old = Array.from({ length: 500 }, (_, i) => newRecord({ tenant: 'acme', service: 'shop', template_id: `old-${i}`, message: 'x' }, START - 10n * MINUTE_NS));
  h.detector.observe(old);
  assert.deepEqual(h.nextMinute(), []);
  for (let i = 0; i < 50; i++) h.send(1, `t${i}`, `svc${i}`);
  h.nextMinute();
  h.nextMinute();
  const state = (h.detector as unknown as { tenants: Map<string, { baselines: Map<string, unknown>; templates: Map<string, number> }> }).tenants.get('acme')!;
  assert.ok(state.baselines.size <= 10);
  assert.ok(state.templates.size <= 10);
  await h.detector.close();
});
