/**
 * Grouping accuracy of the template miner on the ten Loghub 2k samples, with
 * the one production configuration. Mining is deterministic, so this is a
 * correctness test: the targets are an average of at least 0.93 and no set
 * below 0.80 (the numbers per set are in bench/results/templates.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupingAccuracy, loghubAccuracy } from '../bench/lib/accuracy.ts';

test('grouping accuracy: the Loghub definition', () => {
  assert.equal(groupingAccuracy(['a', 'a', 'b'], ['x', 'x', 'y']), 1);
  assert.equal(groupingAccuracy(['a', 'a', 'b'], ['x', 'x', 'x']), 0);
  assert.equal(groupingAccuracy(['a', 'a', 'b', 'c'], ['x', 'y', 'z', 'w']), 0.5);
});

test('Loghub 2k: average grouping accuracy >= 0.93, every dataset >= 0.80', () => {
  const report = loghubAccuracy();
  assert.equal(report.datasets.length, 10, `expected the ten Loghub 2k samples, found ${report.datasets.map((d) => d.dataset).join(', ')}`);
  const table = report.datasets.map((d) => `${d.dataset} ${d.accuracy.toFixed(4)}`).join(', ');
  assert.ok(report.average >= 0.93, `average ${report.average.toFixed(4)} < 0.93 (${table})`);
  for (const d of report.datasets) assert.ok(d.accuracy >= 0.8, `${d.dataset} ${d.accuracy.toFixed(4)} < 0.80 (${table})`);
});
