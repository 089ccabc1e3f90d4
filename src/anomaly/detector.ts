/**
 * Anomaly detection over the stream the pipeline lets through: per tenant,
 * per template and per service, a rate baseline flags spikes and drops, a
 * per-service baseline of the error share flags jumps, and templates not seen
 * for `new_template_lookback` are flagged as new. Anomalies are records
 * (source `anomaly`, type `logger`) carrying their evidence in attrs.anomaly.
 *
 * Design note. Records are counted into fixed buckets of processing time
 * (`bucket`, 1m); a record whose event time is more than two buckets old
 * (an import, a backfill) is not counted, so replaying history does not look
 * like a spike. When a bucket closes, every key's count is compared with its
 * baseline, an exponentially weighted mean and variance (`alpha`): z = (x −
 * mean) / sd with sd = sqrt(max(variance, mean, 1)), so a perfectly regular
 * stream (variance → 0) is judged like a Poisson one and one extra line is
 * not an anomaly; values are clipped to the flagging band before they are
 * learned, so an outlier does not hide the next one. A key flags only after `warmup_buckets` buckets, above
 * `min_volume`, and once per `cooldown` for each kind. Keys, templates and
 * tenants are bounded (`max_keys`, least recently seen dropped first). The
 * learned state (baselines, when each template was last seen, when a tenant
 * was first seen) is saved to <data_dir>/anomaly/<tenant>.json every
 * `state_interval` and at close, atomically; a file that does not parse is
 * set aside and the tenant starts learning again, never stopping the server.
 * Time comes from a clock passed in, so tests drive it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { CairnConfig } from '../config/schema.ts';
import { TENANT_PATTERN } from '../config/schema.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { PipelineObserver } from '../pipeline/pipeline.ts';
import type { TemplateStore } from '../pipeline/templates/store.ts';
import type { Attrs, LogRecord } from '../record/record.ts';
import { newRecord } from '../record/record.ts';
import { formatRfc3339Nano } from '../record/time.ts';
import { writeFileAtomic } from '../util/atomic-file.ts';
import type { Logger } from '../util/logger.ts';

export type AnomalyOptions = CairnConfig['pipeline']['anomalies'];
export type AnomalyKind = 'new_template' | 'rate_spike' | 'rate_drop' | 'error_share';

const NS_PER_MS = 1_000_000n;
/** Severity err or worse counts as an error for the error share. */
const ERROR_SEVERITY = 3;

interface Baseline {
  mean: number;
  variance: number;
  /** Buckets learned. */
  n: number;
  lastSeenMs: number;
  /** The service a template's records last came from (a drop has no records to tell it). */
  service: string;
  /** Last time each kind was flagged for this key (cooldown). */
  flaggedMs: Partial<Record<AnomalyKind, number>>;
}

interface BucketCount {
  n: number;
  errors: number;
  /** The service the key's records came from (for template keys: the last one seen). */
  service: string;
}

interface NewTemplate {
  templateId: string;
  service: string;
  count: number;
  example: string;
}

interface TenantState {
  firstSeenMs: number;
  /** template id → last seen, ms of processing time. */
  templates: Map<string, number>;
  /** `t:<template>` and `s:<service>` rate baselines, `e:<service>` error-share baselines. */
  baselines: Map<string, Baseline>;
  counts: Map<string, BucketCount>;
  fresh: Map<string, NewTemplate>;
  dirty: boolean;
}

interface StateFile {
  version: 1;
  first_seen_ms: number;
  templates: [string, number][];
  baselines: [string, number, number, number, number, string][];
}

export interface DetectorOptions {
  options: AnomalyOptions;
  /** Where state files go; null keeps state in memory only. */
  dir: string | null;
  /** Processing time, ns. */
  now: () => bigint;
  /** Receives anomaly records of a tenant (the server submits them through the ingest path). */
  emit: (tenant: string, records: LogRecord[]) => void;
  metrics: Metrics;
  logger: Logger;
  templates?: TemplateStore;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export class AnomalyDetector implements PipelineObserver {
  private readonly o: AnomalyOptions;
  private readonly deps: DetectorOptions;
  private readonly tenants = new Map<string, TenantState>();
  private readonly bucketMs: number;
  private bucketStartMs: number;
  private timer: NodeJS.Timeout | null = null;
  private lastSaveMs: number;

  constructor(deps: DetectorOptions) {
    this.deps = deps;
    this.o = deps.options;
    this.bucketMs = Math.max(1000, this.o.bucket);
    const now = this.nowMs();
    this.bucketStartMs = now - (now % this.bucketMs);
    this.lastSaveMs = now;
  }

  private nowMs(): number {
    return Number(this.deps.now() / NS_PER_MS);
  }

  /** Loads saved state and starts the clock that closes buckets. */
  open(): void {
    const { dir } = this.deps;
    if (dir !== null) {
      mkdirSync(dir, { recursive: true });
      for (const name of readdirSync(dir)) {
        const tenant = name.slice(0, -'.json'.length);
        if (name.endsWith('.json') && TENANT_PATTERN.test(tenant)) this.load(tenant, join(dir, name));
      }
    }
    this.timer = setInterval(() => this.tick(), Math.min(10_000, this.bucketMs / 4));
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.save();
  }

  observe(records: LogRecord[]): void {
    const nowMs = this.nowMs();
    const staleBeforeNs = BigInt(nowMs - 2 * this.bucketMs) * NS_PER_MS;
    let state: TenantState | undefined;
    let tenant = '';
    for (const r of records) {
      if (r.ts < staleBeforeNs) continue;
      if (r.tenant !== tenant) {
        tenant = r.tenant;
        state = this.tenant(tenant, nowMs);
      }
      const error = r.severity <= ERROR_SEVERITY ? 1 : 0;
      if (r.service !== '') this.count(state!, `s:${r.service}`, r.service, error);
      const id = r.template_id;
      if (id === null) continue;
      this.count(state!, `t:${id}`, r.service, error);
      const last = state!.templates.get(id);
      const fresh = state!.fresh.get(id);
      if (fresh) fresh.count++;
      else if ((last === undefined || last < nowMs - this.o.new_template_lookback) && nowMs - state!.firstSeenMs >= this.o.learning_period) {
        state!.fresh.set(id, { templateId: id, service: r.service, count: 1, example: r.message.slice(0, 300) });
      }
      if (last !== nowMs) {
        // Re-inserted so the map's order is least recently seen first (for eviction).
        state!.templates.delete(id);
        state!.templates.set(id, nowMs);
        state!.dirty = true;
      }
    }
  }

  private count(state: TenantState, key: string, service: string, error: number): void {
    const c = state.counts.get(key);
    if (c) {
      c.n++;
      c.errors += error;
      c.service = service;
    } else state.counts.set(key, { n: 1, errors: error, service });
  }

  private tenant(tenant: string, nowMs: number): TenantState {
    let state = this.tenants.get(tenant);
    if (!state) {
      state = { firstSeenMs: nowMs, templates: new Map(), baselines: new Map(), counts: new Map(), fresh: new Map(), dirty: true };
      this.tenants.set(tenant, state);
    }
    return state;
  }

  /** Closes every bucket that has ended, emits what they show, saves state when due. */
  tick(): void {
    const nowMs = this.nowMs();
    while (nowMs >= this.bucketStartMs + this.bucketMs) {
      const end = this.bucketStartMs + this.bucketMs;
      for (const [tenant, state] of this.tenants) {
        const found = this.closeBucket(tenant, state, this.bucketStartMs, end);
        if (found.length > 0) {
          for (const r of found) this.deps.metrics.anomalies.inc({ tenant, kind: (r.attrs.anomaly as { kind: string }).kind });
          this.deps.emit(tenant, found);
        }
      }
      this.bucketStartMs = end;
    }
    if (nowMs - this.lastSaveMs >= this.o.state_interval) {
      this.lastSaveMs = nowMs;
      this.save();
    }
  }

  private closeBucket(tenant: string, state: TenantState, startMs: number, endMs: number): LogRecord[] {
    const out: LogRecord[] = [];
    const window = { window: formatDuration(this.bucketMs), window_start: formatRfc3339Nano(BigInt(startMs) * NS_PER_MS), window_end: formatRfc3339Nano(BigInt(endMs) * NS_PER_MS) };
    const record = (kind: AnomalyKind, service: string, severity: number, message: string, evidence: Attrs) =>
      out.push(this.anomalyRecord(tenant, endMs, kind, service, severity, message, { kind, ...evidence, ...window }));

    for (const key of new Set([...state.baselines.keys(), ...state.counts.keys()])) {
      if (key.startsWith('e:')) continue;
      const count = state.counts.get(key);
      const x = count?.n ?? 0;
      const base = state.baselines.get(key);
      if (!base) {
        state.baselines.set(key, { mean: x, variance: 0, n: 1, lastSeenMs: endMs, service: count?.service ?? '', flaggedMs: {} });
        continue;
      }
      if (count) base.service = count.service;
      const sd = Math.sqrt(Math.max(base.variance, base.mean, 1));
      const z = (x - base.mean) / sd;
      if (base.n >= this.o.warmup_buckets) {
        const isTemplate = key.startsWith('t:');
        const id = key.slice(2);
        const service = isTemplate ? base.service : id;
        const subject = isTemplate ? this.describeTemplate(tenant, id) : `service ${id}`;
        const evidence: Attrs = { ...(isTemplate ? { template_id: id, template: this.templateText(tenant, id) } : {}), service, expected: round(base.mean), observed: x, z: round(z), stddev: round(sd) };
        if (z >= this.o.z_threshold && x >= this.o.min_volume && this.cool(base, 'rate_spike', endMs)) {
          record('rate_spike', service, 4, `Rate spike: ${subject}: ${x} in ${window.window}, expected ${round(base.mean, 1)} (z ${round(z, 1)})`, evidence);
        } else if (z <= -this.o.z_threshold && base.mean >= this.o.min_volume && this.cool(base, 'rate_drop', endMs)) {
          record('rate_drop', service, 4, `Rate drop: ${subject}: ${x} in ${window.window}, expected ${round(base.mean, 1)} (z ${round(z, 1)})`, evidence);
        }
      }
      learn(base, x, this.o.alpha, this.o.z_threshold);
      if (x > 0) base.lastSeenMs = endMs;
      if (x === 0 && base.mean < 0.01) state.baselines.delete(key);
    }

    for (const [key, count] of state.counts) {
      if (!key.startsWith('s:')) continue;
      const service = key.slice(2);
      const share = count.errors / count.n;
      const shareKey = `e:${service}`;
      const base = state.baselines.get(shareKey);
      if (!base) {
        state.baselines.set(shareKey, { mean: share, variance: 0, n: 1, lastSeenMs: endMs, service, flaggedMs: {} });
        continue;
      }
      if (base.n >= this.o.warmup_buckets && count.n >= this.o.min_volume && share - base.mean >= this.o.error_share_jump && this.cool(base, 'error_share', endMs)) {
        record(
          'error_share',
          service,
          4,
          `Error share jump: service ${service}: ${Math.round(share * 100)}% of ${count.n} records are errors in ${window.window}, expected ${Math.round(base.mean * 100)}%`,
          { service, expected: round(base.mean, 3), observed: round(share, 3), errors: count.errors, records: count.n },
        );
      }
      learn(base, share, this.o.alpha, this.o.z_threshold);
      base.lastSeenMs = endMs;
    }

    const fresh = [...state.fresh.values()].sort((a, b) => b.count - a.count);
    const lookback = formatDuration(this.o.new_template_lookback);
    for (const f of fresh.slice(0, this.o.max_new_templates_per_bucket)) {
      const text = this.templateText(tenant, f.templateId);
      record('new_template', f.service, 5, `New template${f.service ? ` in service ${f.service}` : ''}: "${text ?? f.example}" (${f.count} in ${window.window}, not seen in ${lookback})`, {
        template_id: f.templateId,
        ...(text !== undefined ? { template: text } : {}),
        ...(f.service ? { service: f.service } : {}),
        expected: 0,
        observed: f.count,
        example: f.example,
        lookback,
      });
    }
    const rest = fresh.slice(this.o.max_new_templates_per_bucket);
    if (rest.length > 0) {
      const total = rest.reduce((sum, f) => sum + f.count, 0);
      record('new_template', '', 5, `${rest.length} more new templates (${total} records) in ${window.window}, not seen in ${lookback}`, {
        template_ids: rest.slice(0, 100).map((f) => f.templateId),
        templates: rest.length,
        expected: 0,
        observed: total,
        lookback,
      });
    }

    state.counts.clear();
    state.fresh.clear();
    state.dirty = true;
    this.bound(state);
    return out;
  }

  private cool(base: Baseline, kind: AnomalyKind, nowMs: number): boolean {
    const last = base.flaggedMs[kind];
    if (last !== undefined && nowMs - last < this.o.cooldown) return false;
    base.flaggedMs[kind] = nowMs;
    return true;
  }

  private templateText(tenant: string, id: string): string | undefined {
    return this.deps.templates?.get(tenant, id)?.text;
  }

  private describeTemplate(tenant: string, id: string): string {
    const text = this.templateText(tenant, id);
    return text !== undefined ? `template ${id} "${text.length > 120 ? text.slice(0, 120) + '…' : text}"` : `template ${id}`;
  }

  private anomalyRecord(tenant: string, endMs: number, kind: AnomalyKind, service: string, severity: number, message: string, anomaly: Attrs): LogRecord {
    const ns = BigInt(endMs) * NS_PER_MS;
    return newRecord({ ts: ns, tenant, os: 'other', host: '', unit: 'cairn-anomaly', service, severity, type: 'logger', message, attrs: { anomaly } }, this.deps.now());
  }

  /** Least recently seen baselines and templates go first beyond max_keys. */
  private bound(state: TenantState): void {
    const max = this.o.max_keys;
    if (state.baselines.size > max) {
      const byAge = [...state.baselines].sort((a, b) => a[1].lastSeenMs - b[1].lastSeenMs);
      for (const [key] of byAge.slice(0, state.baselines.size - max)) state.baselines.delete(key);
    }
    while (state.templates.size > max) state.templates.delete(state.templates.keys().next().value!);
  }

  private save(): void {
    const { dir, logger } = this.deps;
    if (dir === null) return;
    for (const [tenant, state] of this.tenants) {
      if (!state.dirty) continue;
      const file: StateFile = {
        version: 1,
        first_seen_ms: state.firstSeenMs,
        templates: [...state.templates],
        baselines: [...state.baselines].map(([k, b]) => [k, b.mean, b.variance, b.n, b.lastSeenMs, b.service]),
      };
      try {
        writeFileAtomic(join(dir, `${tenant}.json`), JSON.stringify(file));
        state.dirty = false;
      } catch (err) {
        logger.error({ err, tenant }, 'anomaly state save failed; retrying at the next interval');
      }
    }
  }

  private load(tenant: string, path: string): void {
    try {
      const file = JSON.parse(readFileSync(path, 'utf8')) as StateFile;
      if (file.version !== 1 || !Array.isArray(file.templates) || !Array.isArray(file.baselines)) throw new Error(`unknown state format (version ${JSON.stringify(file.version)})`);
      const state = this.tenant(tenant, file.first_seen_ms);
      state.firstSeenMs = file.first_seen_ms;
      for (const [id, ms] of [...file.templates].sort((a, b) => a[1] - b[1])) state.templates.set(id, ms);
      for (const [key, mean, variance, n, lastSeenMs, service] of file.baselines) state.baselines.set(key, { mean, variance, n, lastSeenMs, service, flaggedMs: {} });
      state.dirty = false;
    } catch (err) {
      this.tenants.delete(tenant);
      this.deps.logger.error({ err, path }, 'anomaly state unreadable; set aside as .bad, the tenant learns again');
      if (existsSync(path)) renameSync(path, `${path}.bad`);
    }
  }
}

/**
 * One bucket into an exponentially weighted mean and variance. The value is
 * first clipped to the flagging band (mean ± threshold·sd), so one outlier
 * does not widen the baseline enough to hide the next one, while a lasting
 * change of level is still learned, a band's width per bucket.
 */
function learn(base: Baseline, x: number, alpha: number, threshold: number): void {
  const band = threshold * Math.sqrt(Math.max(base.variance, base.mean, 1));
  const diff = Math.min(Math.max(x, base.mean - band), base.mean + band) - base.mean;
  base.mean += alpha * diff;
  base.variance = (1 - alpha) * (base.variance + alpha * diff * diff);
  base.n++;
}
