/**
 * The AST evaluated in process, record by record: live tail filters new
 * records with it, and it is the reference the store's SQL is tested against
 * (test/query-differential.test.ts), so every node means exactly what
 * compile-duckdb.ts makes DuckDB do.
 */
import type { Expr, FieldRef, LabelParser } from './ast.ts';
import { parseNumberText } from './ast.ts';
import type { LogRecord } from '../record/record.ts';
import { recordId } from '../record/id.ts';
import { attrAt, baseLabelValue, isStreamLabel, jsonText, streamLabelValue } from './labels.ts';
import { captureGroups, compileJsRegex } from './regex.ts';
import { prefixPattern } from './compile-duckdb.ts';
import { jsonObjectScalars } from './logql/parsers.ts';

type RecordMatcher = (r: LogRecord) => boolean;

/** A field's value as the store sees it: text, a number for numeric columns, null when absent. */
type Getter = (r: LogRecord) => string | number | bigint | null;

function getter(field: FieldRef): Getter {
  if (field.kind === 'core') {
    const name = field.name;
    return (r) => r[name] ?? null;
  }
  if (field.kind === 'attr') {
    const path = field.path;
    return (r) => jsonText(attrAt(r.attrs, path));
  }
  const value = labelGetter(field.name, field.parsers);
  return (r) => value(r) || null;
}

/** A LogQL label's value ("" when absent), folding the parsers the way compile-duckdb's labelSql does. */
function labelGetter(name: string, parsers: LabelParser[]): (r: LogRecord) => string {
  const extractors = parsers.flatMap((p) => {
    if (p.type === 'json') return [(r: LogRecord) => jsonObjectScalars(r.message)?.get(name) ?? ''];
    const index = captureGroups(p.pattern).indexOf(name);
    if (index < 0) return [];
    const re = compileJsRegex(p.pattern);
    return [(r: LogRecord) => re.exec(r.message)?.[index + 1] ?? ''];
  });
  if (extractors.length === 0) return (r) => baseLabelValue(r, name);
  const latestFirst = extractors.reverse();
  const stream = isStreamLabel(name) ? name : null;
  return (r) => {
    if (stream) {
      const v = streamLabelValue(r, stream);
      if (v !== '') return v;
    }
    for (const x of latestFirst) {
      const v = x(r);
      if (v !== '') return v;
    }
    return stream ? '' : baseLabelValue(r, name);
  };
}

function textOf(field: FieldRef, get: Getter): (r: LogRecord) => string | null {
  if (field.kind === 'label') return (r) => (get(r) as string | null) ?? '';
  return (r) => {
    const v = get(r);
    return v === null ? null : String(v);
  };
}

/** `*` and `?` as in SQL LIKE: any run / one character, anything else literal, the whole value. */
function globRegex(pattern: string, caseInsensitive: boolean): RegExp {
  let src = '';
  for (const c of pattern) {
    if (c === '*') src += '[\\s\\S]*';
    else if (c === '?') src += '[\\s\\S]';
    else src += c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, caseInsensitive ? 'isu' : 'su');
}

const NUMERIC_CORE = new Set(['ts', 'observed_ts', 'severity']);

function compare(a: number | bigint, op: string, b: number | bigint): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '==':
      return a == b; // eslint-disable-line eqeqeq -- bigint vs number on purpose
    default:
      return a != b; // eslint-disable-line eqeqeq
  }
}

export function compileMatcher(expr: Expr): RecordMatcher {
  switch (expr.type) {
    case 'all':
      return () => true;
    case 'and': {
      const items = expr.items.map(compileMatcher);
      return (r) => items.every((m) => m(r));
    }
    case 'or': {
      const items = expr.items.map(compileMatcher);
      return (r) => items.some((m) => m(r));
    }
    case 'not': {
      const item = compileMatcher(expr.item);
      return (r) => !item(r);
    }
    case 'text': {
      if (expr.caseSensitive) {
        const v = expr.value;
        return (r) => r.message.includes(v);
      }
      const v = expr.value.toLowerCase();
      return (r) => r.message.toLowerCase().includes(v);
    }
    case 'prefix': {
      const re = compileJsRegex(prefixPattern(expr.value));
      return (r) => re.test(r.message);
    }
    case 'id': {
      const id = expr.id;
      return (r) => recordId(r) === id;
    }
    case 'eq': {
      const get = getter(expr.field);
      if (expr.field.kind === 'core' && NUMERIC_CORE.has(expr.field.name)) {
        const want = Number(expr.value);
        return (r) => Number(get(r)) === want;
      }
      const text = textOf(expr.field, get);
      if (expr.caseInsensitive) {
        const want = String(expr.value).toLowerCase();
        return (r) => text(r)?.toLowerCase() === want;
      }
      const want = String(expr.value);
      return (r) => text(r) === want;
    }
    case 'glob': {
      const text = textOf(expr.field, getter(expr.field));
      const re = globRegex(expr.pattern, expr.caseInsensitive === true);
      return (r) => {
        const v = text(r);
        return v !== null && re.test(v);
      };
    }
    case 'regex': {
      const text = textOf(expr.field, getter(expr.field));
      const re = compileJsRegex(expr.pattern, { anchored: expr.anchored });
      return (r) => {
        const v = text(r);
        return v !== null && re.test(v);
      };
    }
    case 'cmp': {
      const get = getter(expr.field);
      const { op, value } = expr;
      if (expr.field.kind === 'core' && NUMERIC_CORE.has(expr.field.name)) {
        return (r) => {
          const v = get(r);
          return v !== null && compare(v as number | bigint, op, value);
        };
      }
      const want = Number(value);
      return (r) => {
        const v = get(r);
        if (v === null) return false;
        const n = parseNumberText(String(v));
        return n !== undefined && compare(n, op, want);
      };
    }
    case 'json_object':
      return (r) => jsonObjectScalars(r.message) !== null;
    case 'exists': {
      const field = expr.field;
      if (field.kind === 'attr') return (r) => attrAt(r.attrs, field.path) !== undefined;
      if (field.kind === 'core' && NUMERIC_CORE.has(field.name)) return () => true;
      const get = getter(field);
      return (r) => {
        const v = get(r);
        return v !== null && v !== '';
      };
    }
  }
}
