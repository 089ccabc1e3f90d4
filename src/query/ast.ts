/**
 * The query AST: one tree that every syntax (the search box, later LogQL)
 * parses into and every store compiles from. Nodes are semantic, not
 * syntactic: `level>=warning` is already `severity <= 4` here.
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

export type FieldRef = { kind: 'core'; name: FilterFieldName } | { kind: 'attr'; path: string[] };

export type CompareOp = '<' | '<=' | '>' | '>=';

export type Expr =
  /** Matches every record. */
  | { type: 'all' }
  | { type: 'and'; items: Expr[] }
  | { type: 'or'; items: Expr[] }
  | { type: 'not'; item: Expr }
  /** Case-insensitive substring of `message` (a word or a phrase). */
  | { type: 'text'; value: string }
  /** Exact equality. */
  | { type: 'eq'; field: FieldRef; value: string | number }
  /** Glob with `*` (any run) and `?` (one character), case-sensitive. */
  | { type: 'glob'; field: FieldRef; pattern: string }
  /** RE2 regular expression, unanchored. */
  | { type: 'regex'; field: FieldRef; pattern: string }
  /** Ordered comparison: numbers on numeric fields/attrs, ns on ts. */
  | { type: 'cmp'; field: FieldRef; op: CompareOp; value: number | bigint }
  /** The field is present (attrs) or non-empty (core strings). */
  | { type: 'exists'; field: FieldRef };

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

export function fieldLabel(field: FieldRef): string {
  return field.kind === 'core' ? field.name : `attrs.${field.path.join('.')}`;
}
