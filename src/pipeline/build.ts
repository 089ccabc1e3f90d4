/**
 * pipeline.stages + pipeline.routes → a Pipeline, once at start-up. Every
 * problem (unknown stage type, bad option, unsafe regex, bad filter query,
 * a route naming a stage that does not exist) is collected and reported
 * together in one ConfigError, each with its full key.
 */
import type { CairnConfig } from '../config/schema.ts';
import { ConfigError } from '../config/load.ts';
import { createMetrics, type Metrics } from '../metrics/metrics.ts';
import { silentLogger, type Logger } from '../util/logger.ts';
import { TemplateStore } from './templates/store.ts';
import { instrumentStage, Pipeline, stageReport, stages, type PipelineObserver, type Route, type Stage } from './pipeline.ts';
import { StageConfigError } from './options.ts';

export interface PipelineDeps {
  config: CairnConfig;
  metrics: Metrics;
  logger: Logger;
  /** The server's template store; the `templates` stage exists only with one. */
  templates?: TemplateStore;
  observers?: PipelineObserver[];
}

/** Sources whose records skip the pipeline: Cairn's own anomaly records. */
export const INTERNAL_SOURCES = ['anomaly'];

const TEMPLATES = 'templates';

export function buildPipeline(deps: PipelineDeps): Pipeline {
  const { config, metrics, logger, templates } = deps;
  const problems: string[] = [];
  const built = new Map<string, Stage>();
  const configured = config.pipeline.stages;

  const create = (name: string, options: Record<string, unknown> & { type: string }) => {
    const key = `pipeline.stages.${name}`;
    let factory;
    try {
      factory = stages.get(options.type);
    } catch (err) {
      problems.push(`${key}.type: ${(err as Error).message}`);
      return;
    }
    try {
      const stage = factory(options, { config, metrics, logger, templates, name, report: stageReport(metrics, name) });
      built.set(name, instrumentStage(stage, name, metrics, logger));
    } catch (err) {
      if (err instanceof StageConfigError) for (const p of err.problems) problems.push(`${key}${p.key ? '.' + p.key : ''}: ${p.message}`);
      else problems.push(`${key}: ${(err as Error).message}`);
    }
  };

  for (const [name, options] of Object.entries(configured)) {
    if (options.type === TEMPLATES && !templates) {
      problems.push(`pipeline.stages.${name}: the templates stage needs pipeline.templates.enabled: true`);
      continue;
    }
    create(name, options);
  }
  if (templates && !Object.hasOwn(configured, TEMPLATES)) create(TEMPLATES, { type: TEMPLATES });

  const routeConfigs =
    config.pipeline.routes.length > 0
      ? config.pipeline.routes
      : [{ match: {}, stages: [...Object.keys(configured).filter((n) => n !== TEMPLATES), ...(built.has(TEMPLATES) ? [TEMPLATES] : [])] }];
  const routes: Route[] = [];
  routeConfigs.forEach((route, i) => {
    const list: Stage[] = [];
    route.stages.forEach((name, j) => {
      const stage = built.get(name);
      if (stage) list.push(stage);
      else if (!Object.hasOwn(configured, name)) {
        const hint = name === TEMPLATES ? 'pipeline.templates.enabled is false' : `defined: ${[...built.keys()].join(', ') || 'none'}`;
        problems.push(`pipeline.routes.${i}.stages.${j}: unknown stage "${name}" (${hint})`);
      }
    });
    routes.push({ match: route.match, stages: list });
  });

  if (problems.length > 0) throw new ConfigError(problems, 'pipeline');
  return new Pipeline(routes, { bypassSources: INTERNAL_SOURCES, observers: deps.observers });
}

/** Builds the pipeline as start-up would, with throwaway state, and takes it down: `cairn config check`. */
export async function checkPipelineConfig(config: CairnConfig): Promise<void> {
  const templates = config.pipeline.templates.enabled ? new TemplateStore({ dir: null, snapshotIntervalMs: 0, logger: silentLogger }) : undefined;
  const pipeline = buildPipeline({ config, metrics: createMetrics({ defaultMetrics: false }), logger: silentLogger, templates });
  await pipeline.close();
}
