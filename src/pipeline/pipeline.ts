/**
 * The processing pipeline between the queue and the store: routes pick, per
 * record, an ordered list of named stages (pipeline.routes, first match wins);
 * a stage may drop, change or add records.
 *
 * Design note. Stages are built once at start-up from pipeline.stages, each
 * wrapped here so every stage is counted the same way (in, out, dropped by
 * reason, errors, latency) whatever it does. A stage handles its own
 * per-record failures through `report.failed` (the record is kept with
 * attrs.pipeline_error); if a stage throws for a whole batch, the batch
 * continues past that stage as it is, with the error on every record, so a
 * broken stage can cost enrichment but never a record and never the queue.
 */
import type { LogRecord } from '../record/record.ts';
import type { CairnConfig } from '../config/schema.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Logger } from '../util/logger.ts';
import type { IngestContext } from '../sources/ingestor.ts';
import type { TemplateStore } from './templates/store.ts';
import { Registry } from '../registry.ts';

export interface Stage {
  readonly name: string;
  /** ctx: the source and tenant of the batch the records came in. */
  process(records: LogRecord[], ctx: IngestContext): LogRecord[] | Promise<LogRecord[]>;
  close?(): Promise<void>;
}

/** How a stage reports what it did to individual records. */
export interface StageReport {
  /** n records were dropped on purpose (filter, sampled, ...). */
  dropped(reason: string, n?: number): void;
  /** The stage failed on this record; it is kept, with attrs.pipeline_error. */
  failed(record: LogRecord, err: unknown): void;
}

export interface StageContext {
  config: CairnConfig;
  metrics: Metrics;
  logger: Logger;
  /** The server's template store: the templates stage mines into it, the patterns API reads it. */
  templates?: TemplateStore;
  /** The stage's name in pipeline.stages: labels its metrics and its errors. */
  name: string;
  report: StageReport;
}

export type StageFactory = (options: unknown, ctx: StageContext) => Stage;
export const stages = new Registry<StageFactory>('stage');

/** attrs.pipeline_error: the first stage that failed on a record and why (later failures are only counted). */
export function markFailed(record: LogRecord, stage: string, err: unknown): void {
  if (record.attrs.pipeline_error !== undefined) return;
  const error = err instanceof Error ? err.message : String(err);
  record.attrs.pipeline_error = { stage, error: error.length > 1000 ? error.slice(0, 1000) + '…' : error };
}

export function stageReport(metrics: Metrics, stage: string): StageReport {
  return {
    dropped(reason, n = 1) {
      if (n > 0) metrics.pipelineDropped.inc({ stage, reason }, n);
    },
    failed(record, err) {
      markFailed(record, stage, err);
      metrics.pipelineErrors.inc({ stage });
    },
  };
}

/** Which records a route takes; absent keys match anything. Values are exact or globs with `*`. */
export interface RouteMatch {
  tenant?: string[];
  source?: string[];
  service?: string[];
  os?: string[];
}

export interface Route {
  match: RouteMatch;
  stages: Stage[];
}

type ValueTest = (value: string) => boolean;

function valueTest(patterns: string[] | undefined): ValueTest | null {
  if (!patterns || patterns.length === 0) return null;
  const exact = new Set(patterns.filter((p) => !p.includes('*')));
  const globs = patterns
    .filter((p) => p.includes('*'))
    .map((p) => new RegExp(`^${p.split('*').map((part) => part.replace(/[\\^$.+?()[\]{}|]/g, '\\$&')).join('.*')}$`, 's'));
  return (v) => exact.has(v) || globs.some((g) => g.test(v));
}

interface CompiledRoute {
  tenant: ValueTest | null;
  source: ValueTest | null;
  service: ValueTest | null;
  os: ValueTest | null;
  stages: Stage[];
}

/** Observes the records a batch leaves the pipeline with (the anomaly detector). */
export interface PipelineObserver {
  observe(records: LogRecord[], ctx: IngestContext): void;
}

export interface PipelineOptions {
  /** Batches from these sources skip every stage (Cairn's own records, such as anomalies). */
  bypassSources?: string[];
  observers?: PipelineObserver[];
}

export class Pipeline {
  private readonly routes: CompiledRoute[];
  private readonly stageList: Stage[];
  private readonly bypass: Set<string>;
  private readonly observers: PipelineObserver[];

  constructor(routes: Route[], options: PipelineOptions = {}) {
    this.routes = routes.map((r) => ({
      tenant: valueTest(r.match.tenant),
      source: valueTest(r.match.source),
      service: valueTest(r.match.service),
      os: valueTest(r.match.os),
      stages: r.stages,
    }));
    this.stageList = [...new Set(routes.flatMap((r) => r.stages))];
    this.bypass = new Set(options.bypassSources ?? []);
    this.observers = options.observers ?? [];
  }

  /** Nothing to do: no stage and nobody watching. */
  get idle(): boolean {
    return this.stageList.length === 0 && this.observers.length === 0;
  }

  async process(records: LogRecord[], ctx: IngestContext): Promise<LogRecord[]> {
    if (this.bypass.has(ctx.source) || records.length === 0) return records;
    const candidates = this.routes.filter((r) => (!r.tenant || r.tenant(ctx.tenant)) && (!r.source || r.source(ctx.source)));
    let out: LogRecord[];
    if (candidates.length === 0) out = records;
    else if (!candidates.some((r) => r.service || r.os)) out = await runStages(candidates[0]!.stages, records, ctx);
    else out = await this.processByRecord(candidates, records, ctx);
    for (const o of this.observers) o.observe(out, ctx);
    return out;
  }

  /** Routes that look at service or os split the batch; records of one route stay in order. */
  private async processByRecord(candidates: CompiledRoute[], records: LogRecord[], ctx: IngestContext): Promise<LogRecord[]> {
    const groups = new Map<CompiledRoute | null, LogRecord[]>();
    const memo = new Map<string, CompiledRoute | null>();
    for (const r of records) {
      const key = `${r.service}\u0000${r.os}`;
      let route = memo.get(key);
      if (route === undefined) {
        route = candidates.find((c) => (!c.service || c.service(r.service)) && (!c.os || c.os(r.os))) ?? null;
        memo.set(key, route);
      }
      const list = groups.get(route);
      if (list) list.push(r);
      else groups.set(route, [r]);
    }
    const out: LogRecord[] = [];
    for (const [route, list] of groups) {
      const done = route ? await runStages(route.stages, list, ctx) : list;
      for (const r of done) out.push(r);
    }
    return out;
  }

  async close(): Promise<void> {
    for (const stage of this.stageList) await stage.close?.();
  }
}

async function runStages(list: Stage[], records: LogRecord[], ctx: IngestContext): Promise<LogRecord[]> {
  let out = records;
  for (const stage of list) {
    if (out.length === 0) break;
    out = await stage.process(out, ctx);
  }
  return out;
}

/** Wraps a stage with its metrics and the keep-the-batch-on-failure rule. */
export function instrumentStage(stage: Stage, name: string, metrics: Metrics, logger: Logger): Stage {
  const inLabels = { stage: name, result: 'in' };
  const outLabels = { stage: name, result: 'out' };
  const droppedLabels = { stage: name, result: 'dropped' };
  const latency = metrics.pipelineStageSeconds.labels({ stage: name });
  const report = stageReport(metrics, name);
  return {
    name,
    async process(records, ctx) {
      const started = performance.now();
      let out: LogRecord[];
      try {
        out = await stage.process(records, ctx);
      } catch (err) {
        logger.error({ err, stage: name, records: records.length }, 'pipeline stage failed for a whole batch; its records go on without it');
        for (const r of records) report.failed(r, err);
        out = records;
      }
      latency.observe((performance.now() - started) / 1000);
      metrics.pipelineRecords.inc(inLabels, records.length);
      metrics.pipelineRecords.inc(outLabels, out.length);
      if (out.length < records.length) metrics.pipelineRecords.inc(droppedLabels, records.length - out.length);
      return out;
    },
    close: stage.close ? () => stage.close!() : undefined,
  };
}
