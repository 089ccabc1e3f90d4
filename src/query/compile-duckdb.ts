/**
 * AST → DuckDB SQL. Every value the user typed travels as a bound parameter;
 * the only text spliced into SQL is column names from a fixed list.
 */
import type { Expr, FieldRef } from './ast.ts';

export type SqlValue = string | number | bigint | boolean;

export class SqlParams {
  readonly values: SqlValue[] = [];
  add(value: SqlValue): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const CORE_COLUMNS: Record<string, string> = {
  ts: 'ts',
  observed_ts: 'observed_ts',
  os: 'os',
  host: 'host',
  unit: 'unit',
  service: 'service',
  severity: 'severity',
  type: 'type',
  message: 'message',
  trace_id: 'trace_id',
  span_id: 'span_id',
  correlation_id: 'correlation_id',
  template_id: 'template_id',
  tenant: 'tenant',
};

const NUMERIC_CORE = new Set(['ts', 'observed_ts', 'severity']);

/** JSON path for DuckDB's json functions: $."a"."b" (quotes keep dots and spaces literal). */
export function jsonPath(path: string[]): string {
  return '$' + path.map((p) => `."${p.replaceAll('"', '')}"`).join('');
}

/** SQL for a field's value as text (core column, or the attr extracted as string). */
export function fieldSql(field: FieldRef, params: SqlParams): string {
  if (field.kind === 'core') {
    const col = CORE_COLUMNS[field.name];
    if (!col) throw new Error(`unknown field ${field.name}`);
    return col;
  }
  return `json_extract_string(attrs, ${params.add(jsonPath(field.path))})`;
}

/** Escapes LIKE metacharacters so `value` matches literally (escape char is backslash). */
export function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, (c) => '\\' + c);
}

/** `*` → `%`, `?` → `_`, everything else literal. */
export function globToLike(pattern: string): string {
  let out = '';
  for (const c of pattern) {
    if (c === '*') out += '%';
    else if (c === '?') out += '_';
    else out += likeLiteral(c);
  }
  return out;
}

export function compileWhere(expr: Expr, params: SqlParams): string {
  switch (expr.type) {
    case 'all':
      return 'TRUE';
    case 'and':
      return expr.items.map((e) => `(${compileWhere(e, params)})`).join(' AND ');
    case 'or':
      return expr.items.map((e) => `(${compileWhere(e, params)})`).join(' OR ');
    case 'not':
      // NULL (a missing attr) must count as "does not match", so NOT of it is true.
      return `NOT coalesce((${compileWhere(expr.item, params)}), FALSE)`;
    case 'text':
      return `message ILIKE ${params.add('%' + likeLiteral(expr.value) + '%')} ESCAPE '\\'`;
    case 'eq': {
      const col = fieldSql(expr.field, params);
      if (expr.field.kind === 'core' && NUMERIC_CORE.has(expr.field.name)) {
        return `${col} = ${params.add(Number(expr.value))}`;
      }
      return `${col} = ${params.add(String(expr.value))}`;
    }
    case 'glob':
      return `${fieldSql(expr.field, params)} LIKE ${params.add(globToLike(expr.pattern))} ESCAPE '\\'`;
    case 'regex':
      return `regexp_matches(${fieldSql(expr.field, params)}, ${params.add(expr.pattern)})`;
    case 'cmp': {
      if (expr.field.kind === 'core') {
        const col = fieldSql(expr.field, params);
        if (!NUMERIC_CORE.has(expr.field.name)) {
          return `${col} ${expr.op} ${params.add(String(expr.value))}`;
        }
        const v = expr.field.name === 'severity' ? Number(expr.value) : BigInt(expr.value);
        return `${col} ${expr.op} ${params.add(v)}`;
      }
      return `TRY_CAST(${fieldSql(expr.field, params)} AS DOUBLE) ${expr.op} ${params.add(Number(expr.value))}`;
    }
    case 'exists':
      if (expr.field.kind === 'attr') return `json_exists(attrs, ${params.add(jsonPath(expr.field.path))})`;
      if (NUMERIC_CORE.has(expr.field.name)) return 'TRUE';
      return `coalesce(${fieldSql(expr.field, params)} <> '', FALSE)`;
  }
}
