/**
 * The query AST: one tree that every syntax (the search box, LogQL) parses
 * into and every store compiles from. Nodes are semantic, not syntactic:
 * `level>=warning` is already `severity <= 4` here.
 */

/** Core columns a filter can name. */
export const FILTER_FIELDS = [
  'ts',
  'observed_ts',
  'os',
  'host',
  'unit',
  'service',
  'severity',
  'type',
  'message',
  'trace_id',
  'span_id',
  'correlation_id',
  'template_id',
] as const;
export type FilterFieldName = (typeof FILTER_FIELDS)[number];

/**
 * A parser stage that can produce a LogQL label from the message, in the order
 * the pipeline runs them. Only the ones a store can evaluate exactly appear
 * here (see logql/plan.ts).
 */
export type LabelParser =
  /** `| json`: the message's top-level scalar member of that name. */
  | { type: 'json' }
  /** `| regexp "..."`: the named capture group of that name. */
  | { type: 'regexp'; pattern: string };

export type FieldRef =
  | { kind: 'core'; name: FilterFieldName }
  | { kind: 'attr'; path: string[] }
  /**
   * A LogQL label (Loki semantics): a stream label (host, unit, service, os,
   * type, level), else structured metadata (attrs, nested keys joined with
   * "_"), else what the parsers extract. Absent and empty are the same: no
   * value. A parser never overrides a label that already has a value.
   */
  | { kind: 'label'; name: string; parsers: LabelParser[] };

export type CompareOp = '<' | '<=' | '>' | '>=';
/** LogQL's numeric label filters also compare for (in)equality. */
export type NumericOp = CompareOp | '==' | '!=';

export type Expr =
  /** Matches every record. */
  | { type: 'all' }
  | { type: 'and'; items: Expr[] }
  | { type: 'or'; items: Expr[] }
  | { type: 'not'; item: Expr }
  /** Substring of `message` (a word or a phrase); case-insensitive unless caseSensitive (LogQL line filters). */
  | { type: 'text'; value: string; caseSensitive?: boolean }
  /** Some word of `message` starts with value (a word typed as `conn*`); case-insensitive. */
  | { type: 'prefix'; value: string }
  /** The record with this id (record/id.ts): its timestamp and identity hash. */
  | { type: 'id'; id: string }
  /** Equality; case-insensitive when asked (host names). Absent labels equal "". */
  | { type: 'eq'; field: FieldRef; value: string | number; caseInsensitive?: boolean }
  /** Glob with `*` (any run) and `?` (one character); case-sensitive unless asked. */
  | { type: 'glob'; field: FieldRef; pattern: string; caseInsensitive?: boolean }
  /** RE2 regular expression, unanchored unless anchored (LogQL label matchers match the whole value). */
  | { type: 'regex'; field: FieldRef; pattern: string; anchored?: boolean }
  /** Ordered comparison: numbers on numeric fields/attrs/labels (text that is not a number never matches), ns on ts. */
  | { type: 'cmp'; field: FieldRef; op: NumericOp; value: number | bigint }
  /** The field is present (attrs) or non-empty (core strings, labels). */
  | { type: 'exists'; field: FieldRef }
  /** The message is a JSON object (LogQL: `| json` sets no __error__). */
  | { type: 'json_object' };

export const ALL: Expr = { type: 'all' };

export function and(items: Expr[]): Expr {
  const flat = items.flatMap((e) => (e.type === 'and' ? e.items : e.type === 'all' ? [] : [e]));
  if (flat.length === 0) return ALL;
  if (flat.length === 1) return flat[0]!;
  return { type: 'and', items: flat };
}

export function or(items: Expr[]): Expr {
  const flat = items.flatMap((e) => (e.type === 'or' ? e.items : [e]));
  if (flat.some((e) => e.type === 'all')) return ALL;
  if (flat.length === 1) return flat[0]!;
  return { type: 'or', items: flat };
}

export function not(item: Expr): Expr {
  return { type: 'not', item };
}

export function fieldLabel(field: FieldRef): string {
  if (field.kind === 'core') return field.name;
  if (field.kind === 'attr') return `attrs.${field.path.join('.')}`;
  return field.name;
}

/** Numbers as LogQL and the search box read them from text: plain decimal or exponent notation, nothing else. */
export const NUMBER_TEXT = /^[\t\n\f\r ]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[\t\n\f\r ]*$/;
/** The same, as an RE2 pattern for the store. */
export const NUMBER_TEXT_RE2 = '[\\t\\n\\f\\r ]*[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?[\\t\\n\\f\\r ]*';

export function parseNumberText(text: string): number | undefined {
  return NUMBER_TEXT.test(text) ? Number(text) : undefined;
}
