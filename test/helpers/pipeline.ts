/** Pipeline stages in isolation: one stage built from its options as the server builds it, and records to feed it. */
import '../../src/components.ts';
import { validateConfig } from '../../src/config/load.ts';
import { deepMerge } from '../../src/config/load.ts';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.ts';
import { instrumentStage, stageReport, stages, type Stage } from '../../src/pipeline/pipeline.ts';
import { newRecord, type LogRecord } from '../../src/record/record.ts';
import type { IngestContext } from '../../src/sources/ingestor.ts';
import { silentLogger } from '../../src/util/logger.ts';

export const T0 = 1_750_000_000_000_000_000n;

export function record(message: string, partial: Partial<LogRecord> = {}): LogRecord {
  return newRecord({ tenant: 'acme', host: 'web-1', ...partial, message }, partial.observed_ts ?? T0);
}

export interface TestStage {
  stage: Stage;
  metrics: Metrics;
  run(records: LogRecord[], ctx?: IngestContext): Promise<LogRecord[]>;
  /** Value of a counter series, 0 when absent. */
  count(metric: string, labels: Record<string, string>): Promise<number>;
}

export function buildStage(name: string, options: Record<string, unknown> & { type: string }, configOverrides: Record<string, unknown> = {}): TestStage {
  const config = validateConfig(deepMerge({ log: { level: 'silent' } }, configOverrides), 'test');
  const metrics = createMetrics({ defaultMetrics: false });
  const inner = stages.get(options.type)(options, { config, metrics, logger: silentLogger, name, report: stageReport(metrics, name) });
  const stage = instrumentStage(inner, name, metrics, silentLogger);
  return {
    stage,
    metrics,
    run: async (records, ctx = { source: 'http', tenant: 'acme' }) => stage.process(records, ctx),
    async count(metric, labels) {
      const m = metrics.registry.getSingleMetric(metric);
      if (!m) return 0;
      const { values } = await m.get();
      const hit = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
      return hit ? Number(hit.value) : 0;
    },
  };
}
