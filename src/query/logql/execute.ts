/**
 * LogQL run against a Store.
 *
 * Log queries: the store filter from plan.ts selects rows, newest or oldest
 * first; when the plan is exact the store's LIMIT is the answer, otherwise
 * rows are read page by page through the in-process pipeline until `limit`
 * lines passed or `query.post_filter_max_rows` rows were read (then the
 * answer says it was cut short).
 *
 * Metric queries are evaluated at every step t = start + i * step with
 * Loki's window (t - range, t]. A range aggregation whose pipeline the store
 * runs exactly is one windowAggregate call (an enclosing `sum by (...)` is
 * folded into its grouping, since counts add up); otherwise the rows are
 * streamed through the pipeline and counted here, with the same bounds.
 * Vector aggregations and arithmetic then run on the series in memory,
 * at most `query.max_series` of them.
 */
import type { LogRecord } from '../../record/record.ts';
import type { Store } from '../../store/store.ts';
import type { Expr, FieldRef } from '../ast.ts';
import type { BinOp, Grouping, LogSelector, MetricExpr } from './ast.ts';
import { QueryLimitError } from './ast.ts';
import { planSelector } from './plan.ts';
import { Pipeline, type LineLabels } from './pipeline.ts';
import { LEVEL_NAMES, METADATA_COLUMNS, STREAM_LABELS, isStreamLabel, labelsKey, structuredMetadata } from '../labels.ts';
import { QueryInputError } from '../../store/store.ts';

interface LogQLLimits {
  maxSeries: number;
  postFilterMaxRows: number;
}

export interface ExecStats {
  /** Rows the store returned to be filtered or counted here. */
  rowsRead: number;
  bytesRead: number;
  /** Some of the query ran in process (post-filter or in-process counting). */
  inProcess: boolean;
  warnings: string[];
}

export interface ExecContext {
  store: Store;
  tenant: string;
  signal?: AbortSignal;
  limits: LogQLLimits;
  stats: ExecStats;
}

export function newStats(): ExecStats {
  return { rowsRead: 0, bytesRead: 0, inProcess: false, warnings: [] };
}

// ------------------------------------------------------------------ scanning

const PAGE_ROWS = 5000;
/** Records with one and the same timestamp read at once, at most. */
const SAME_INSTANT_MAX_ROWS = 50_000;

/**
 * Rows of a range in time order, page by page, each row once. A page ends
 * inside a run of equal timestamps; that run is read again with the next
 * page (or on its own when a whole page is one instant), so nothing is
 * skipped or repeated however the store orders equal timestamps.
 */
async function* scan(ctx: ExecContext, where: Expr, fromNs: bigint, toNs: bigint, order: 'asc' | 'desc'): AsyncGenerator<LogRecord[]> {
  let from = fromNs;
  let to = toNs;
  while (from <= to) {
    const page = await ctx.store.search({ tenant: ctx.tenant, where, fromNs: from, toNs: to, limit: PAGE_ROWS, order, signal: ctx.signal });
    if (page.length < PAGE_ROWS) {
      yield page;
      return;
    }
    const boundary = page[page.length - 1]!.ts;
    let rows = page.filter((r) => r.ts !== boundary);
    if (rows.length === 0) {
      // One instant fills the page: read it (bounded: the rows of one instant
      // have no order to page by), then step past it.
      const room = Math.max(1, ctx.limits.postFilterMaxRows - ctx.stats.rowsRead);
      const limit = Math.min(room, SAME_INSTANT_MAX_ROWS);
      rows = await ctx.store.search({ tenant: ctx.tenant, where, fromNs: boundary, toNs: boundary, limit, order, signal: ctx.signal });
      if (rows.length === limit && limit < room) {
        ctx.stats.warnings.push(`more than ${SAME_INSTANT_MAX_ROWS} records share the timestamp ${boundary}; only the first ${SAME_INSTANT_MAX_ROWS} were read`);
      }
      if (order === 'asc') from = boundary + 1n;
      else to = boundary - 1n;
    } else if (order === 'asc') from = boundary;
    else to = boundary;
    yield rows;
  }
}

function noteRows(ctx: ExecContext, rows: LogRecord[]): void {
  ctx.stats.rowsRead += rows.length;
  for (const r of rows) ctx.stats.bytesRead += r.message.length;
}

// -------------------------------------------------------------- log queries

export interface LogLine {
  ts: bigint;
  line: string;
  labels: LineLabels;
}

interface LogRange {
  /** Inclusive bounds, ns. */
  fromNs: bigint;
  toNs: bigint;
  limit: number;
  direction: 'forward' | 'backward';
}

export async function runLogQuery(ctx: ExecContext, selector: LogSelector, range: LogRange): Promise<LogLine[]> {
  const plan = planSelector(selector);
  const pipeline = new Pipeline(selector);
  const order = range.direction === 'forward' ? 'asc' : 'desc';
  const out: LogLine[] = [];
  const take = (rows: LogRecord[]) => {
    for (const r of rows) {
      const res = pipeline.process(r);
      if (res) out.push({ ts: r.ts, line: res.line, labels: res.labels });
      if (out.length >= range.limit) return true;
    }
    return false;
  };
  if (plan.exact) {
    const rows = await ctx.store.search({ tenant: ctx.tenant, where: plan.where, fromNs: range.fromNs, toNs: range.toNs, limit: range.limit, order, signal: ctx.signal });
    take(rows);
    return out;
  }
  ctx.stats.inProcess = true;
  for await (const rows of scan(ctx, plan.where, range.fromNs, range.toNs, order)) {
    const room = ctx.limits.postFilterMaxRows - ctx.stats.rowsRead;
    const page = rows.length > room ? rows.slice(0, room) : rows;
    noteRows(ctx, page);
    if (take(page)) break;
    if (page.length < rows.length || ctx.stats.rowsRead >= ctx.limits.postFilterMaxRows) {
      ctx.stats.warnings.push(
        `the pipeline filters in process and stopped after reading ${ctx.stats.rowsRead} rows (query.post_filter_max_rows); narrow the selector or the time range for complete results`,
      );
      break;
    }
  }
  return out;
}

// ----------------------------------------------------------- metric queries

export interface StepRange {
  startNs: bigint;
  stepNs: bigint;
  steps: number;
}

export interface Series {
  labels: Record<string, string>;
  /** Step index → value; a step without a value is absent. */
  values: Map<number, number>;
}

export type MetricValue = { kind: 'matrix'; series: Series[] } | { kind: 'scalar'; value: number };

export function stepTimes(range: StepRange): bigint[] {
  return Array.from({ length: range.steps }, (_, i) => range.startNs + BigInt(i) * range.stepNs);
}

function pickLabels(labels: Record<string, string>, g: Grouping | undefined): Record<string, string> {
  if (!g) return {};
  if (g.without) {
    const out = { ...labels };
    for (const n of g.labels) delete out[n];
    return out;
  }
  const out: Record<string, string> = {};
  for (const n of g.labels) {
    const v = labels[n] ?? '';
    if (v !== '') out[n] = v;
  }
  return out;
}

class SeriesSet {
  private readonly byKey = new Map<string, Series>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get(labels: Record<string, string>): Series {
    const key = labelsKey(labels);
    let s = this.byKey.get(key);
    if (!s) {
      if (this.byKey.size >= this.max) {
        throw new QueryLimitError(`the query produces more than ${this.max} series; aggregate with sum by (...) or narrow the selector`, 'query.max_series');
      }
      s = { labels, values: new Map() };
      this.byKey.set(key, s);
    }
    return s;
  }
  add(labels: Record<string, string>, step: number, value: number): void {
    const s = this.get(labels);
    s.values.set(step, (s.values.get(step) ?? 0) + value);
  }
  list(): Series[] {
    return [...this.byKey.values()];
  }
}

/**
 * A label as the store should group by it: a stream label untouched by
 * parsers is its plain column (grouping by a column is faster than by an
 * expression; NULL and "" both mean "absent" here), level is the severity.
 */
function storeGroup(f: FieldRef): { field: FieldRef; decode: (v: string | null) => string } {
  if (f.kind === 'label' && f.parsers.length === 0 && isStreamLabel(f.name)) {
    if (f.name === 'level') return { field: { kind: 'core', name: 'severity' }, decode: (v) => (v === null ? '' : (LEVEL_NAMES[Number(v)] ?? '')) };
    return { field: { kind: 'core', name: f.name }, decode: (v) => v ?? '' };
  }
  return { field: f, decode: (v) => v ?? '' };
}

function unparen(e: MetricExpr): MetricExpr {
  return e.type === 'paren' ? unparen(e.inner) : e;
}

async function evalRangeAgg(ctx: ExecContext, e: Extract<MetricExpr, { type: 'range_agg' }>, range: StepRange, sum?: Grouping): Promise<Series[]> {
  const plan = planSelector(e.selector);
  const measure = e.fn === 'bytes_over_time' || e.fn === 'bytes_rate' ? 'bytes' : 'count';
  const perSecond = e.fn === 'rate' || e.fn === 'bytes_rate' ? Number(e.rangeNs) / 1e9 : 1;
  const series = new SeriesSet(ctx.limits.maxSeries);

  const sqlPath = plan.exact && !(measure === 'bytes' && plan.changesLine);
  const byFields = sqlPath && sum && !sum.without ? sum.labels.map((n) => plan.labelAtEnd(n)) : null;
  const labelSet = sqlPath && !byFields ? plan.labelSetAtEnd() : null;
  const run = (groupBy: FieldRef[]) => {
    const rowLimit = Math.min(ctx.limits.maxSeries * range.steps, 5_000_000);
    return ctx.store
      .windowAggregate({
        tenant: ctx.tenant, where: plan.where, startNs: range.startNs, stepNs: range.stepNs, steps: range.steps,
        rangeNs: e.rangeNs, groupBy, measure, rowLimit, signal: ctx.signal,
      })
      .then((rows) => {
        if (rows.length > rowLimit) throw new QueryLimitError(`the query produces more than ${rowLimit} samples`, 'query.max_series × steps');
        return rows;
      });
  };
  if (byFields && byFields.every((f): f is FieldRef => f !== null)) {
    // sum by (...): the store groups by those labels directly.
    const groups = byFields.map(storeGroup);
    for (const row of await run(groups.map((g) => g.field))) {
      const labels: Record<string, string> = {};
      row.group.forEach((v, k) => {
        const value = groups[k]!.decode(v);
        if (value !== '') labels[sum!.labels[k]!] = value;
      });
      series.add(labels, row.step, row.value);
    }
  } else if (labelSet) {
    // Every label of a line is a stream label, a metadata column or an attr:
    // the store groups by those columns, the labels are built from each group.
    const streamGroups = STREAM_LABELS.map((name) => storeGroup({ kind: 'label', name, parsers: [] }));
    const groupBy: FieldRef[] = [
      ...streamGroups.map((g) => g.field),
      ...METADATA_COLUMNS.map((name): FieldRef => ({ kind: 'core', name })),
      { kind: 'attr', path: [] },
    ];
    for (const row of await run(groupBy)) {
      const [streamValues, metadataValues, attrsText] = [row.group.slice(0, STREAM_LABELS.length), row.group.slice(STREAM_LABELS.length, -1), row.group[row.group.length - 1]];
      const labels = structuredMetadata({
        ...Object.fromEntries(METADATA_COLUMNS.map((c, k) => [c, metadataValues[k] ?? null])),
        attrs: attrsText ? (JSON.parse(attrsText) as LogRecord['attrs']) : {},
      } as LogRecord);
      STREAM_LABELS.forEach((name, k) => {
        const v = streamGroups[k]!.decode(streamValues[k] ?? null);
        if (v) labels[name] = v;
      });
      for (const n of Object.keys(labels)) if (labelSet.dropped.has(n) || (labelSet.kept && !labelSet.kept.has(n))) delete labels[n];
      series.add(sum ? pickLabels(labels, sum) : labels, row.step, row.value);
    }
  } else {
    ctx.stats.inProcess = true;
    const pipeline = new Pipeline(e.selector);
    const last = range.startNs + BigInt(range.steps - 1) * range.stepNs;
    for await (const rows of scan(ctx, plan.where, range.startNs - e.rangeNs + 1n, last, 'asc')) {
      noteRows(ctx, rows);
      if (ctx.stats.rowsRead > ctx.limits.postFilterMaxRows) {
        throw new QueryLimitError(
          `the pipeline of ${e.fn} runs in process and would read more than ${ctx.limits.postFilterMaxRows} rows; narrow the selector or the range`,
          'query.post_filter_max_rows',
        );
      }
      for (const r of rows) {
        const res = pipeline.process(r);
        if (!res) continue;
        const labels = sum ? pickLabels(res.labels.allLabels(), sum) : res.labels.allLabels();
        const value = measure === 'count' ? 1 : Buffer.byteLength(res.line);
        // Steps whose window (t - range, t] holds r.ts.
        const d = r.ts - range.startNs;
        const lo = d <= 0n ? 0n : (d + range.stepNs - 1n) / range.stepNs;
        let hi = (d + e.rangeNs - 1n) / range.stepNs;
        if (hi > BigInt(range.steps - 1)) hi = BigInt(range.steps - 1);
        for (let i = lo; i <= hi; i++) series.add(labels, Number(i), value);
      }
    }
  }
  const out = series.list();
  if (perSecond !== 1) for (const s of out) for (const [k, v] of s.values) s.values.set(k, v / perSecond);
  return out;
}

function aggregateSeries(op: string, param: number | undefined, grouping: Grouping | undefined, inner: Series[], steps: number, maxSeries: number): Series[] {
  const groups = new Map<string, { labels: Record<string, string>; members: Series[] }>();
  for (const s of inner) {
    const labels = pickLabels(s.labels, grouping);
    const key = labelsKey(labels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels, members: [] }));
    g.members.push(s);
  }
  if (op === 'sort' || op === 'sort_desc') return inner;
  if (op === 'topk' || op === 'bottomk') {
    const k = param!;
    const picked = new Map<Series, Map<number, number>>();
    for (const g of groups.values()) {
      for (let i = 0; i < steps; i++) {
        const present = g.members.filter((m) => m.values.has(i));
        present.sort((a, b) => {
          const d = op === 'topk' ? b.values.get(i)! - a.values.get(i)! : a.values.get(i)! - b.values.get(i)!;
          return d !== 0 ? d : labelsKey(a.labels) < labelsKey(b.labels) ? -1 : 1;
        });
        for (const m of present.slice(0, k)) {
          let vals = picked.get(m);
          if (!vals) picked.set(m, (vals = new Map()));
          vals.set(i, m.values.get(i)!);
        }
      }
    }
    return [...picked].map(([s, values]) => ({ labels: s.labels, values }));
  }
  if (groups.size > maxSeries) throw new QueryLimitError(`the aggregation produces more than ${maxSeries} series`, 'query.max_series');
  const out: Series[] = [];
  for (const g of groups.values()) {
    const values = new Map<number, number>();
    for (let i = 0; i < steps; i++) {
      const xs: number[] = [];
      for (const m of g.members) {
        const v = m.values.get(i);
        if (v !== undefined) xs.push(v);
      }
      if (xs.length === 0) continue;
      values.set(i, reduce(op, xs));
    }
    out.push({ labels: g.labels, values });
  }
  return out;
}

function reduce(op: string, xs: number[]): number {
  switch (op) {
    case 'sum':
      return xs.reduce((a, b) => a + b, 0);
    case 'avg':
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    case 'min':
      return Math.min(...xs);
    case 'max':
      return Math.max(...xs);
    case 'count':
      return xs.length;
    default: {
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
      return op === 'stdvar' ? variance : Math.sqrt(variance);
    }
  }
}

function arith(op: BinOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return a ** b;
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '>':
      return a > b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
  }
}

const COMPARISONS = new Set(['==', '!=', '>', '<', '>=', '<=']);

function binary(op: BinOp, bool: boolean, left: MetricValue, right: MetricValue): MetricValue {
  const isCmp = COMPARISONS.has(op);
  if (left.kind === 'scalar' && right.kind === 'scalar') {
    if (isCmp && !bool) throw new QueryInputError(`comparisons between scalars need "bool": ${op} bool`);
    return { kind: 'scalar', value: arith(op, left.value, right.value) };
  }
  // A comparison without bool filters: the sample stays (with the vector's value) when it holds.
  const combine = (vecValue: number, a: number, b: number): number | undefined => {
    const r = arith(op, a, b);
    if (!isCmp || bool) return r;
    return r === 1 ? vecValue : undefined;
  };
  const out: Series[] = [];
  if (left.kind === 'matrix' && right.kind === 'matrix') {
    const rightByKey = new Map(right.series.map((s) => [labelsKey(s.labels), s]));
    for (const l of left.series) {
      const r = rightByKey.get(labelsKey(l.labels));
      if (!r) continue;
      const values = new Map<number, number>();
      for (const [i, a] of l.values) {
        const b = r.values.get(i);
        if (b === undefined) continue;
        const v = combine(a, a, b);
        if (v !== undefined) values.set(i, v);
      }
      out.push({ labels: l.labels, values });
    }
    return { kind: 'matrix', series: out };
  }
  const vec = (left.kind === 'matrix' ? left : right) as Extract<MetricValue, { kind: 'matrix' }>;
  const scalar = (left.kind === 'scalar' ? left : right) as Extract<MetricValue, { kind: 'scalar' }>;
  for (const s of vec.series) {
    const values = new Map<number, number>();
    for (const [i, x] of s.values) {
      const v = left.kind === 'matrix' ? combine(x, x, scalar.value) : combine(x, scalar.value, x);
      if (v !== undefined) values.set(i, v);
    }
    out.push({ labels: s.labels, values });
  }
  return { kind: 'matrix', series: out };
}

export async function evaluateMetric(ctx: ExecContext, expr: MetricExpr, range: StepRange): Promise<MetricValue> {
  switch (expr.type) {
    case 'number':
      return { kind: 'scalar', value: expr.value };
    case 'vector': {
      const values = new Map<number, number>();
      for (let i = 0; i < range.steps; i++) values.set(i, expr.value);
      return { kind: 'matrix', series: [{ labels: {}, values }] };
    }
    case 'paren':
      return evaluateMetric(ctx, expr.inner, range);
    case 'range_agg':
      return { kind: 'matrix', series: await evalRangeAgg(ctx, expr, range) };
    case 'vector_agg': {
      const inner = unparen(expr.inner);
      if (expr.op === 'sum' && inner.type === 'range_agg') {
        // sum of counts per group = count per group: one grouped pass.
        return { kind: 'matrix', series: await evalRangeAgg(ctx, inner, range, expr.grouping ?? { without: false, labels: [] }) };
      }
      const v = await evaluateMetric(ctx, expr.inner, range);
      if (v.kind !== 'matrix') throw new QueryInputError(`${expr.op} needs a vector, got a scalar`);
      return { kind: 'matrix', series: aggregateSeries(expr.op, expr.param, expr.grouping, v.series, range.steps, ctx.limits.maxSeries) };
    }
    case 'binary': {
      const [l, r] = await Promise.all([evaluateMetric(ctx, expr.left, range), evaluateMetric(ctx, expr.right, range)]);
      return binary(expr.op, expr.bool, l, r);
    }
  }
}

/** Whether the outermost aggregation orders an instant vector (sort, sort_desc, topk, bottomk). */
export function instantOrder(expr: MetricExpr): 'asc' | 'desc' | null {
  const e = unparen(expr);
  if (e.type !== 'vector_agg') return null;
  if (e.op === 'sort' || e.op === 'bottomk') return 'asc';
  if (e.op === 'sort_desc' || e.op === 'topk') return 'desc';
  return null;
}
