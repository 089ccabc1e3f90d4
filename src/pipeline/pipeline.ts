/**
 * The processing pipeline between the queue and the store: an ordered list of
 * named stages applied to each batch. A stage may drop, change or add records;
 * a stage that throws on a record must keep the record (with the error in an
 * attr), never lose it.
 */
import type { LogRecord } from '../record/record.ts';
import type { CairnConfig } from '../config/schema.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Logger } from '../util/logger.ts';
import type { TemplateStore } from './templates/store.ts';
import { Registry } from '../registry.ts';

export interface Stage {
  readonly name: string;
  process(records: LogRecord[]): LogRecord[] | Promise<LogRecord[]>;
  close?(): Promise<void>;
}

export interface StageContext {
  config: CairnConfig;
  metrics: Metrics;
  logger: Logger;
  /** The server's template store: the templates stage mines into it, the patterns API reads it. */
  templates?: TemplateStore;
}

export type StageFactory = (options: unknown, ctx: StageContext) => Stage;
export const stages = new Registry<StageFactory>('stage');

export class Pipeline {
  private readonly stageList: Stage[];
  constructor(stageList: Stage[]) {
    this.stageList = stageList;
  }

  get length(): number {
    return this.stageList.length;
  }

  async process(records: LogRecord[]): Promise<LogRecord[]> {
    let out = records;
    for (const stage of this.stageList) out = await stage.process(out);
    return out;
  }

  async close(): Promise<void> {
    for (const stage of this.stageList) await stage.close?.();
  }
}
