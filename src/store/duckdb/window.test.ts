import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBEngine } from './engine.ts';
import { toColumnBatch } from '../batch.ts';
import { newRecord } from '../../record/record.ts';
import { ALL } from '../../query/ast.ts';

const S = 1_000_000_000n;
const T0 = 1_700_000_000n * S;

/** Brute force: for each step t, the records in (t - range, t]. */
function reference(ts: bigint[], bytes: number[], start: bigint, step: bigint, steps: number, range: bigint, measure: 'count' | 'bytes') {
  const out = new Map<number, number>();
  for (let i = 0; i < steps; i++) {
    const t = start + BigInt(i) * step;
    let v = 0;
    ts.forEach((x, k) => {
      if (x > t - range && x <= t) v += measure === 'count' ? 1 : bytes[k]!;
    });
    if (v > 0) out.set(i, v);
  }
  return out;
}

test('window aggregation is exact: (t - range, t] at every step, any range/step ratio', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-window-'));
  const e = new DuckDBEngine({
    dir, memoryLimitBytes: 256 * 1024 * 1024, threads: 2, headMaxRows: 1_000_000, headMaxAgeMs: 3_600_000,
    zstdLevel: 3, rowGroupRows: 1024, mergeMaxRows: 1_000_000, mergeMinSegments: 4,
  });
  await e.open();
  try {
    // Irregular timestamps, some exactly on step boundaries, and messages of varied length.
    const ts: bigint[] = [];
    const messages: string[] = [];
    let seed = 7;
    for (let k = 0; k < 400; k++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const t = k % 25 === 0 ? T0 + BigInt(k) * 5n * S : T0 + BigInt(seed % 2000) * S + BigInt(seed % 1000) * 1_000_000n;
      ts.push(t);
      messages.push('x'.repeat(1 + (seed % 17)) + 'é');
    }
    const records = ts.map((t, k) => newRecord({ ts: t, tenant: 'acme', host: `h${k % 3}`, message: messages[k]! }, T0));
    await e.append(toColumnBatch(records));
    await e.flush();
    const bytes = messages.map((m) => Buffer.byteLength(m));
    for (const [stepS, rangeS, startOffsetS] of [[10n, 10n, 0n], [10n, 35n, 3n], [60n, 5n, -7n], [1n, 1n, 100n], [7n, 300n, 50n]] as const) {
      const start = T0 + startOffsetS * S;
      const step = stepS * S;
      const range = rangeS * S;
      const steps = 200;
      for (const measure of ['count', 'bytes'] as const) {
        const rows = await e.windowAggregate(1, { tenant: 'acme', where: ALL, startNs: start, stepNs: step, steps, rangeNs: range, groupBy: [], measure, rowLimit: 10_000 });
        const got = new Map(rows.map((r) => [r.step, r.value]));
        assert.deepEqual(got, reference(ts, bytes, start, step, steps, range, measure), `step ${stepS}s range ${rangeS}s ${measure}`);
      }
    }
    // One step (an instant query), with windows that hold something and one that holds nothing.
    for (const [rangeS, atS] of [[60n, 1000n], [5000n, 3000n], [1n, 99_999n]] as const) {
      const rows = await e.windowAggregate(1, { tenant: 'acme', where: ALL, startNs: T0 + atS * S, stepNs: S, steps: 1, rangeNs: rangeS * S, groupBy: [], measure: 'count', rowLimit: 10 });
      assert.deepEqual(new Map(rows.map((r) => [r.step, r.value])), reference(ts, bytes, T0 + atS * S, S, 1, rangeS * S, 'count'), `instant, range ${rangeS}s`);
    }
    const grouped = await e.windowAggregate(1, {
      tenant: 'acme', where: ALL, startNs: T0, stepNs: 100n * S, steps: 25, rangeNs: 100n * S,
      groupBy: [{ kind: 'core', name: 'host' }], measure: 'count', rowLimit: 10_000,
    });
    for (const h of ['h0', 'h1', 'h2']) {
      const mine = ts.filter((_, k) => `h${k % 3}` === h);
      const want = reference(mine, [], T0, 100n * S, 25, 100n * S, 'count');
      assert.deepEqual(new Map(grouped.filter((r) => r.group[0] === h).map((r) => [r.step, r.value])), want, h);
    }
    const limited = await e.windowAggregate(1, { tenant: 'acme', where: ALL, startNs: T0, stepNs: S, steps: 2000, rangeNs: S, groupBy: [], measure: 'count', rowLimit: 5 });
    assert.equal(limited.length, 6, 'rowLimit + 1 rows tell the caller there are too many');
  } finally {
    await e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cancel() interrupts the running DuckDB statement', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-cancel-'));
  const e = new DuckDBEngine({
    dir, memoryLimitBytes: 256 * 1024 * 1024, threads: 2, headMaxRows: 1_000_000, headMaxAgeMs: 3_600_000,
    zstdLevel: 3, rowGroupRows: 1024, mergeMaxRows: 1_000_000, mergeMinSegments: 4,
  });
  await e.open();
  try {
    const records = Array.from({ length: 20_000 }, (_, k) => newRecord({ ts: T0 + BigInt(k) * 1_000_000n, tenant: 'acme', message: `m${k}` }, T0));
    await e.append(toColumnBatch(records));
    // Every record falls in all 11000 windows: 220 million rows to sum, seconds of work.
    const heavy = e.windowAggregate(7, {
      tenant: 'acme', where: ALL, startNs: T0 + 20n * S, stepNs: 1_000_000n, steps: 11_000, rangeNs: 1000n * S,
      groupBy: [{ kind: 'core', name: 'message' }], measure: 'count', rowLimit: 1_000_000_000,
    });
    const started = performance.now();
    setTimeout(() => e.cancel(7), 150);
    await assert.rejects(heavy, /INTERRUPT/i);
    assert.ok(performance.now() - started < 5000);
    // The connection is usable again.
    const rows = await e.windowAggregate(8, { tenant: 'acme', where: ALL, startNs: T0, stepNs: S, steps: 30, rangeNs: S, groupBy: [], measure: 'count', rowLimit: 100 });
    assert.equal(rows.reduce((a, r) => a + r.value, 0), 20_000);
  } finally {
    await e.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
