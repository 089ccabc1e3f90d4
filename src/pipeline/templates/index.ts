/**
 * The `templates` stage: sets `template_id` on every record by mining its
 * message into the tenant's templates (the store belongs to the server, which
 * also serves it to the patterns API and snapshots it).
 */
import type { LogRecord } from '../../record/record.ts';
import { stages, type Stage, type StageContext } from '../pipeline.ts';

export function createTemplatesStage(_options: unknown, ctx: StageContext): Stage {
  const templates = ctx.templates;
  if (!templates) throw new Error('the templates stage needs the server template store (StageContext.templates)');
  const { metrics, report } = ctx;
  return {
    name: 'templates',
    process(records: LogRecord[]): LogRecord[] {
      for (const r of records) {
        try {
          r.template_id = templates.mine(r.tenant, r.message, r.ts);
        } catch (err) {
          report.failed(r, err);
        }
      }
      templates.reportEvictions();
      for (const [tenant, size] of templates.sizes()) metrics.templates.set({ tenant }, size);
      return records;
    },
  };
}

stages.register('templates', createTemplatesStage);
