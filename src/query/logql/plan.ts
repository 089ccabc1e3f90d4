/**
 * Pushdown: which part of a LogQL selector the store runs as SQL.
 *
 * The store filter (`where`) is the conjunction of every matcher and filter
 * whose meaning the core AST can state exactly at that point of the pipeline:
 * - stream selector matchers (stream labels, structured metadata);
 * - line filters while the line is still the stored message (before
 *   line_format/decolorize), pattern filters as regexes;
 * - label filters on labels whose value is known in SQL: stream labels and
 *   metadata, and what `| json` (top-level members, names without "_") and
 *   `| regexp` (named groups) extract; string filters on json values except
 *   number-like literals and regexes (DuckDB re-renders numbers, 1e2 → 100.0),
 *   numeric filters always; `__error__=""`/`!=""` after json.
 * Everything else (logfmt, pattern and json-with-paths extraction and the
 * filters on what they extract, label_format, line_format and what follows
 * it, duration and size filters) runs in process on the store's rows, in a
 * bounded streaming post-filter. `exact` says whether the store filter alone
 * already selects exactly the pipeline's lines.
 */
import type { Expr, FieldRef, LabelParser } from '../ast.ts';
import { ALL, NUMBER_TEXT, and, not, or } from '../ast.ts';
import type { LabelFilter, LabelMatcher, LineFilter, LogSelector } from './ast.ts';
import { isStreamLabel, levelOf } from '../labels.ts';
import { compilePattern } from './parsers.ts';
import { ERROR_DETAILS_LABEL, ERROR_LABEL, normalizeLevelMatcher } from './pipeline.ts';

interface LogPlan {
  where: Expr;
  exact: boolean;
  /** The pipeline changes the line (line_format, decolorize). */
  changesLine: boolean;
  /** A label's value at the end of the pipeline as a store field, or null when only the pipeline knows it. */
  labelAtEnd(name: string): FieldRef | null;
  /**
   * How the pipeline changes a line's label set when the store can compute
   * the rest (stream labels and metadata, then these drops and keeps); null
   * when parsers or label_format add labels only the pipeline knows.
   */
  labelSetAtEnd(): { dropped: Set<string>; kept: Set<string> | null } | null;
}

const MESSAGE: FieldRef = { kind: 'core', name: 'message' };

/** Label values as the planner knows them at one point of the pipeline. */
interface LabelState {
  parsers: LabelParser[];
  /** A parser the store cannot run has run: any label may have a new value. */
  opaque: boolean;
  /** Names whose value only the pipeline knows (label_format targets, dropped, parsed by known-name parsers). */
  unknown: Set<string>;
  /** After keep: only these names exist (null: no keep). */
  kept: Set<string> | null;
  /** A parser that can set __error__ has run. */
  jsonParsed: boolean;
  anyParser: boolean;
}

function labelRef(name: string, st: LabelState): FieldRef | null {
  if (st.opaque || st.unknown.has(name) || (st.kept && !st.kept.has(name))) return null;
  if (name === ERROR_LABEL || name === ERROR_DETAILS_LABEL) return null;
  if (st.anyParser && name.endsWith('_extracted')) return null;
  // json flattens nested keys into names with "_"; the store reads top-level members only.
  if (name.includes('_') && st.parsers.some((p) => p.type === 'json')) return null;
  return { kind: 'label', name, parsers: [...st.parsers] };
}

function looksNumeric(text: string): boolean {
  return NUMBER_TEXT.test(text) || /^[+-]?(?:inf(?:inity)?|nan)$/i.test(text.trim());
}

const NOTHING: Expr = not(ALL);

/** A matcher or string label filter as a store filter; null when the store cannot say it exactly. */
function matcherExpr(m0: LabelMatcher, st: LabelState): Expr | null {
  const m = normalizeLevelMatcher(m0);
  const negated = m.op === '!=' || m.op === '!~';
  if (m.name === ERROR_LABEL && m.value === '' && (m.op === '=' || m.op === '!=')) {
    if (st.opaque || st.unknown.has(ERROR_LABEL) || st.kept) return null;
    // Only json sets __error__ here (regexp cannot fail): empty exactly when the line is a JSON object.
    const ok: Expr = st.jsonParsed ? { type: 'json_object' } : ALL;
    return negated ? not(ok) : ok;
  }
  const field = labelRef(m.name, st);
  if (!field || field.kind !== 'label') return null;
  if (field.parsers.some((p) => p.type === 'json') && (m.op === '=~' || m.op === '!~' || looksNumeric(m.value))) return null;
  let e: Expr;
  if (m.op === '=~' || m.op === '!~') e = regexMatcherExpr(m, field, st);
  else if (field.parsers.length > 0 || !isStreamLabel(m.name) || m.value === '') e = { type: 'eq', field, value: m.value };
  else if (m.name === 'level') {
    // Plain column comparisons let the store prune row groups.
    const sev = levelOf(m.value);
    e = sev === undefined ? NOTHING : { type: 'eq', field: { kind: 'core', name: 'severity' }, value: sev };
  } else e = { type: 'eq', field: { kind: 'core', name: m.name }, value: m.value };
  return negated ? not(e) : e;
}

/** Literal alternatives such as `api|db|auth` (no regex metacharacters but "|"). */
const LITERAL_ALTERNATION = /^[A-Za-z0-9_\-/:@ ]+(?:\|[A-Za-z0-9_\-/:@ ]+)*$/;

/**
 * Regex matchers Grafana writes all the time, said without a regex so the
 * store can use its zone maps: `.+` (has a value), `.*` (anything), and
 * alternatives of literal values.
 */
function regexMatcherExpr(m: LabelMatcher, field: FieldRef, st: LabelState): Expr {
  if (m.value === '.*') return ALL;
  if (m.value === '.+') return { type: 'exists', field };
  // (level is left alone: "=" accepts every severity name there, a regex only the canonical ones.)
  if (m.name !== 'level' && LITERAL_ALTERNATION.test(m.value)) {
    const alternatives = [...new Set(m.value.split('|'))].map((value) => matcherExpr({ name: m.name, op: '=', value }, st));
    if (alternatives.every((a): a is Expr => a !== null)) return or(alternatives);
  }
  return { type: 'regex', field, pattern: `(?s)${m.value}`, anchored: true };
}

function lineFilterExpr(f: LineFilter): Expr {
  let any: Expr;
  if (f.op === '|=' || f.op === '!=') any = or(f.values.map((v) => ({ type: 'text', value: v, caseSensitive: true })));
  else if (f.op === '|~' || f.op === '!~') any = or(f.values.map((v) => ({ type: 'regex', field: MESSAGE, pattern: v })));
  else any = or(f.values.map((v) => ({ type: 'regex', field: MESSAGE, pattern: compilePattern(v).regex })));
  return f.op.startsWith('!') ? not(any) : any;
}

function labelFilterExpr(f: LabelFilter, st: LabelState): Expr | null {
  switch (f.type) {
    case 'and':
    case 'or': {
      const a = labelFilterExpr(f.left, st);
      const b = labelFilterExpr(f.right, st);
      if (!a || !b) return null;
      return f.type === 'and' ? and([a, b]) : or([a, b]);
    }
    case 'string':
      return matcherExpr({ name: f.name, op: f.op, value: f.value }, st);
    case 'number': {
      const field = labelRef(f.name, st);
      return field ? { type: 'cmp', field, op: f.op, value: f.value } : null;
    }
    case 'duration':
    case 'bytes':
      return null;
  }
}

export function planSelector(sel: LogSelector): LogPlan {
  const st: LabelState = { parsers: [], opaque: false, unknown: new Set(), kept: null, jsonParsed: false, anyParser: false };
  const where: Expr[] = [];
  let exact = true;
  let lineIsMessage = true;
  let addsLabels = false;
  const dropped = new Set<string>();
  for (const m of sel.matchers) {
    const e = matcherExpr(m, st);
    if (e) where.push(e);
    else exact = false;
  }
  for (const stage of sel.stages) {
    switch (stage.type) {
      case 'line_filter':
        if (lineIsMessage) where.push(lineFilterExpr(stage.filter));
        else exact = false;
        break;
      case 'label_filter': {
        const e = labelFilterExpr(stage.filter, st);
        if (e) where.push(e);
        else exact = false;
        break;
      }
      case 'json':
        addsLabels = true;
        st.anyParser = true;
        st.jsonParsed = true;
        if (stage.params.length === 0) st.parsers.push({ type: 'json' });
        else stage.params.forEach((p) => st.unknown.add(p.name));
        break;
      case 'regexp':
        addsLabels = true;
        st.anyParser = true;
        st.parsers.push({ type: 'regexp', pattern: stage.pattern });
        break;
      case 'pattern':
        addsLabels = true;
        st.anyParser = true;
        compilePattern(stage.pattern).names.forEach((n) => st.unknown.add(n));
        break;
      case 'logfmt':
        addsLabels = true;
        st.anyParser = true;
        if (stage.params.length > 0) stage.params.forEach((p) => st.unknown.add(p.name));
        else st.opaque = true;
        if (stage.strict) st.unknown.add(ERROR_LABEL);
        break;
      case 'label_format':
        addsLabels = true;
        for (const i of stage.items) {
          st.unknown.add(i.name);
          if (i.rename) st.unknown.add(i.rename);
        }
        break;
      case 'drop':
        for (const i of stage.items) {
          st.unknown.add(i.name);
          if (i.matcher) addsLabels = true; // which labels remain depends on their values
          else dropped.add(i.name);
        }
        break;
      case 'keep': {
        const names = new Set(stage.items.map((i) => i.name));
        st.kept = st.kept ? new Set([...st.kept].filter((n) => names.has(n))) : names;
        for (const i of stage.items) {
          if (!i.matcher) continue;
          st.unknown.add(i.name);
          addsLabels = true;
        }
        break;
      }
      case 'line_format':
      case 'decolorize':
        lineIsMessage = false;
        break;
    }
  }
  return {
    where: and(where),
    exact,
    changesLine: !lineIsMessage,
    labelAtEnd: (name) => labelRef(name, st),
    labelSetAtEnd: () => (addsLabels ? null : { dropped, kept: st.kept }),
  };
}
