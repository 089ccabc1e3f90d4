/**
 * AST → DuckDB SQL. Every value the user typed travels as a bound parameter;
 * the only text spliced into SQL is column names from a fixed list.
 */
import type { Expr, FieldRef } from './ast.ts';

export type SqlValue = string | number | bigint | boolean;
export type SqlType = 'BIGINT' | 'DOUBLE' | 'VARCHAR' | 'BOOLEAN' | 'UTINYINT';

/**
 * Bound parameters with explicit types. Left to inference, a JS bigint binds
 * as HUGEINT, and `ts >= <hugeint>` casts every row and blocks Parquet pruning
 * (measured: 340 ms instead of 25 ms for a count by hour over 1M rows).
 */
export class SqlParams {
  readonly values: SqlValue[] = [];
  readonly types: SqlType[] = [];
  add(value: SqlValue, type: SqlType = inferType(value)): string {
    this.values.push(value);
    this.types.push(type);
    return `$${this.values.length}`;
  }
}

function inferType(value: SqlValue): SqlType {
  switch (typeof value) {
    case 'bigint':
      return 'BIGINT';
    case 'string':
      return 'VARCHAR';
    case 'boolean':
      return 'BOOLEAN';
    default:
      return Number.isInteger(value) ? 'BIGINT' : 'DOUBLE';
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
      // Case-insensitive substring. ILIKE measured 4x slower than this on head tables.
      return `contains(lower(message), lower(${params.add(expr.value)}))`;
    case 'eq': {
      const col = fieldSql(expr.field, params);
      if (expr.field.kind === 'core' && NUMERIC_CORE.has(expr.field.name)) {
        return expr.field.name === 'severity'
          ? `${col} = ${params.add(Number(expr.value), 'UTINYINT')}`
          : `${col} = ${params.add(BigInt(expr.value))}`;
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
        if (expr.field.name === 'severity') return `${col} ${expr.op} ${params.add(Number(expr.value), 'UTINYINT')}`;
        return `${col} ${expr.op} ${params.add(BigInt(expr.value))}`;
      }
      return `TRY_CAST(${fieldSql(expr.field, params)} AS DOUBLE) ${expr.op} ${params.add(Number(expr.value), 'DOUBLE')}`;
    }
    case 'exists':
      if (expr.field.kind === 'attr') return `json_exists(attrs, ${params.add(jsonPath(expr.field.path))})`;
      if (NUMERIC_CORE.has(expr.field.name)) return 'TRUE';
      return `coalesce(${fieldSql(expr.field, params)} <> '', FALSE)`;
  }
}
