/**
 * AST → DuckDB SQL. Every value the user typed travels as a bound parameter;
 * the only text spliced into SQL is column names from a fixed list.
 */
import type { Expr, FieldRef, LabelParser } from './ast.ts';
import { NUMBER_TEXT_RE2 } from './ast.ts';
import { LEVEL_NAMES, isMetadataColumn, isStreamLabel, labelPaths } from './labels.ts';
import { captureGroups, escapeRegex, re2ForStore } from './regex.ts';
import { tsOfRecordId } from '../record/id.ts';
import { QueryInputError } from '../store/store.ts';

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
    if (typeof value === 'bigint' && (value > INT64_MAX || value < -INT64_MAX)) {
      throw new QueryInputError(`a time, duration or number in the query is out of range (${value} does not fit in 64 bits)`);
    }
    this.values.push(value);
    this.types.push(type);
    return `$${this.values.length}`;
  }
}

const INT64_MAX = 2n ** 63n - 1n;

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

/**
 * The message when it is JSON, else NULL. The json functions fail on other
 * text, and DuckDB may evaluate an expression for every row whatever CASE
 * guards it (common subexpressions are computed once, up front), so they only
 * ever see this.
 */
const JSON_MESSAGE = 'CASE WHEN json_valid(message) THEN message END';

/** Scalar JSON types a parser turns into a label (objects are flattened, arrays and null skipped). */
const JSON_SCALAR_TYPES = "('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE', 'BOOLEAN')";

/** JSON path for DuckDB's json functions: $."a"."b" (quotes keep dots and spaces literal; \ and " escaped). */
export function jsonPath(path: string[]): string {
  return '$' + path.map((p) => `."${p.replace(/["\\]/g, (c) => '\\' + c)}"`).join('');
}

function columnOf(name: string): string {
  const col = CORE_COLUMNS[name];
  if (!col) throw new Error(`unknown field ${name}`);
  return col;
}

/** SQL for a LogQL label: NULL when absent or empty. */
function labelSql(name: string, parsers: LabelParser[], params: SqlParams): string {
  const parsed = [...parsers].reverse().flatMap((p) => {
    const sql = parsedLabelSql(p, name, params);
    return sql ? [sql] : [];
  });
  if (isStreamLabel(name)) {
    // A parser never overrides a stream label that has a value (Loki names its value <name>_extracted).
    const stream = name === 'level' ? `${LEVEL_LIST}[severity + 1]` : `nullif(${columnOf(name)}, '')`;
    return parsed.length === 0 ? stream : `coalesce(${stream}, ${parsed.join(', ')})`;
  }
  let metadata: string;
  if (isMetadataColumn(name)) metadata = `nullif(${columnOf(name)}, '')`;
  else {
    const paths = labelPaths(name).map((p) => `json_extract_string(attrs, ${params.add(jsonPath(p))})`);
    metadata = paths.length === 1 ? `nullif(${paths[0]}, '')` : `nullif(coalesce(${paths.join(', ')}), '')`;
  }
  return parsed.length === 0 ? metadata : `coalesce(${parsed.join(', ')}, ${metadata})`;
}

/** A constant of the code (not user input), so it is spliced in. */
const LEVEL_LIST = `([${LEVEL_NAMES.map((n) => `'${n}'`).join(', ')}])`;

function parsedLabelSql(p: LabelParser, name: string, params: SqlParams): string | null {
  if (p.type === 'json') {
    const path = params.add(jsonPath([name]));
    return (
      `CASE WHEN json_type(${JSON_MESSAGE}) = 'OBJECT' AND json_type(${JSON_MESSAGE}, ${path}) IN ${JSON_SCALAR_TYPES} ` +
      `THEN nullif(json_extract_string(${JSON_MESSAGE}, ${path}), '') END`
    );
  }
  const index = captureGroups(p.pattern).indexOf(name);
  if (index < 0) return null;
  return `nullif(regexp_extract(message, ${params.add(re2ForStore(p.pattern))}, ${index + 1}), '')`;
}

/** SQL for a field's value as text (core column, the attr extracted as string, or a label). */
export function fieldSql(field: FieldRef, params: SqlParams): string {
  if (field.kind === 'core') return columnOf(field.name);
  if (field.kind === 'label') return labelSql(field.name, field.parsers, params);
  return `json_extract_string(attrs, ${params.add(jsonPath(field.path))})`;
}

/** Text fields compare with "absent" as "" (LogQL); core and attr fields keep NULL (no match). */
function textSql(field: FieldRef, params: SqlParams): string {
  const sql = fieldSql(field, params);
  return field.kind === 'label' ? `coalesce(${sql}, '')` : sql;
}

/** A number read from text, NULL when the text is not a number. */
function numberSql(text: string, params: SqlParams): string {
  return `CASE WHEN regexp_full_match(${text}, ${params.add(NUMBER_TEXT_RE2)}) THEN CAST(trim(${text}) AS DOUBLE) END`;
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

/** The RE2 pattern of a word prefix (`conn*`): the value at the start of a word, any case. */
export function prefixPattern(value: string): string {
  return `(?i)(?:^|[^A-Za-z0-9_])${escapeRegex(value)}`;
}

const SQL_OP: Record<string, string> = { '<': '<', '<=': '<=', '>': '>', '>=': '>=', '==': '=', '!=': '<>' };

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
      if (expr.caseSensitive) return `contains(message, ${params.add(expr.value)})`;
      return `contains(lower(message), lower(${params.add(expr.value)}))`;
    case 'prefix':
      return `contains(lower(message), lower(${params.add(expr.value)})) AND regexp_matches(message, ${params.add(prefixPattern(expr.value))})`;
    case 'id': {
      const ts = tsOfRecordId(expr.id);
      if (ts === undefined) throw new QueryInputError(`"${expr.id}" is not a record id (32 hex digits)`);
      const digest = `left(sha256(tenant || chr(0) || coalesce(host, '') || chr(0) || coalesce(unit, '') || chr(0) || coalesce(message, '')), 16)`;
      return `ts = ${params.add(ts)} AND ${digest} = ${params.add(expr.id.slice(16))}`;
    }
    case 'eq': {
      if (expr.field.kind === 'core' && NUMERIC_CORE.has(expr.field.name)) {
        const col = fieldSql(expr.field, params);
        return expr.field.name === 'severity'
          ? `${col} = ${params.add(Number(expr.value), 'UTINYINT')}`
          : `${col} = ${params.add(BigInt(expr.value))}`;
      }
      const text = textSql(expr.field, params);
      if (expr.caseInsensitive) return `lower(${text}) = ${params.add(String(expr.value).toLowerCase())}`;
      return `${text} = ${params.add(String(expr.value))}`;
    }
    case 'glob':
      return `${textSql(expr.field, params)} ${expr.caseInsensitive ? 'ILIKE' : 'LIKE'} ${params.add(globToLike(expr.pattern))} ESCAPE '\\'`;
    case 'regex': {
      const fn = expr.anchored ? 'regexp_full_match' : 'regexp_matches';
      return `${fn}(${textSql(expr.field, params)}, ${params.add(re2ForStore(expr.pattern))})`;
    }
    case 'cmp': {
      const op = SQL_OP[expr.op]!;
      if (expr.field.kind === 'core' && NUMERIC_CORE.has(expr.field.name)) {
        const col = fieldSql(expr.field, params);
        if (expr.field.name === 'severity') return `${col} ${op} ${params.add(Number(expr.value), 'UTINYINT')}`;
        return `${col} ${op} ${params.add(BigInt(expr.value))}`;
      }
      return `${numberSql(fieldSql(expr.field, params), params)} ${op} ${params.add(Number(expr.value), 'DOUBLE')}`;
    }
    case 'json_object':
      return `coalesce(json_type(${JSON_MESSAGE}) = 'OBJECT', FALSE)`;
    case 'exists':
      if (expr.field.kind === 'attr') return `json_exists(attrs, ${params.add(jsonPath(expr.field.path))})`;
      if (expr.field.kind === 'label') return `${fieldSql(expr.field, params)} IS NOT NULL`;
      if (NUMERIC_CORE.has(expr.field.name)) return 'TRUE';
      return `coalesce(${fieldSql(expr.field, params)} <> '', FALSE)`;
  }
}
