/**
 * Grouping accuracy of the template miner on the Loghub samples (the Loghub
 * benchmark's definition): a message is correct when the set of messages
 * sharing its predicted template equals the set sharing its true EventId.
 */
import { TemplateMiner, type MinerOptions } from '../../src/pipeline/templates/miner.ts';
import { datasetNames, loadStructured } from './loghub.ts';

export function groupingAccuracy(truth: readonly string[], predicted: readonly string[]): number {
  if (truth.length !== predicted.length) throw new Error('truth and prediction differ in length');
  const byTruth = new Map<string, number[]>();
  truth.forEach((t, i) => {
    const list = byTruth.get(t);
    if (list) list.push(i);
    else byTruth.set(t, [i]);
  });
  const predictedSize = new Map<string, number>();
  for (const p of predicted) predictedSize.set(p, (predictedSize.get(p) ?? 0) + 1);
  let correct = 0;
  for (const members of byTruth.values()) {
    const p = predicted[members[0]!]!;
    if (predictedSize.get(p) === members.length && members.every((i) => predicted[i] === p)) correct += members.length;
  }
  return truth.length === 0 ? 1 : correct / truth.length;
}

/** Each line's final template id: mine everything, then follow merges (what `cairn patterns mine` prints). */
export function mineIds(messages: readonly string[], options: MinerOptions = {}): string[] {
  const miner = new TemplateMiner({ maxTemplates: 1_000_000, ...options });
  const assigned = messages.map((m) => miner.mine(m));
  return assigned.map((t) => t.current().id);
}

export interface DatasetAccuracy {
  dataset: string;
  messages: number;
  accuracy: number;
  /** Templates found and templates in the ground truth. */
  templates: number;
  truth_templates: number;
}

export interface AccuracyReport {
  datasets: DatasetAccuracy[];
  average: number;
  min: number;
}

export function loghubAccuracy(options: MinerOptions = {}): AccuracyReport {
  const datasets = datasetNames().map((dataset) => {
    const rows = loadStructured(dataset);
    const truth = rows.map((r) => r.eventId);
    const ids = mineIds(
      rows.map((r) => r.content),
      options,
    );
    return {
      dataset,
      messages: rows.length,
      accuracy: groupingAccuracy(truth, ids),
      templates: new Set(ids).size,
      truth_templates: new Set(truth).size,
    };
  });
  const accuracies = datasets.map((d) => d.accuracy);
  return { datasets, average: accuracies.reduce((a, b) => a + b, 0) / accuracies.length, min: Math.min(...accuracies) };
}
