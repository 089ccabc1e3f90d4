/**
 * LogQL's line parsers, run in process: json, logfmt, pattern and regexp each
 * turn a line into label pairs (Loki's rules: nested JSON keys joined with
 * "_", names sanitized, numbers kept as written, arrays skipped).
 */
import { sanitizeLabelName } from '../labels.ts';
import { captureGroups, compileJsRegex, escapeRegex } from '../regex.ts';
import { QueryInputError } from '../../store/store.ts';

type Raw = string | number | boolean | null | Raw[] | { [k: string]: Raw };

/** Parses JSON keeping every number as the text it was written as. */
function parseJsonRaw(text: string): Raw | undefined {
  try {
    const reviver = (_key: string, value: unknown, context?: { source?: string }) =>
      typeof value === 'number' && context?.source !== undefined ? { __raw: context.source } : value;
    return JSON.parse(text, reviver as (this: unknown, key: string, value: unknown) => unknown) as Raw;
  } catch {
    return undefined;
  }
}

function isRawNumber(v: unknown): v is { __raw: string } {
  return typeof v === 'object' && v !== null && '__raw' in v;
}

function scalarText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (isRawNumber(v)) return v.__raw;
  return null;
}

function isObject(v: unknown): v is Record<string, Raw> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isRawNumber(v);
}

let lastJsonLine: string | null = null;
let lastJsonValue: Raw | undefined;

function parseCached(line: string): Raw | undefined {
  if (line !== lastJsonLine) {
    lastJsonLine = line;
    lastJsonValue = parseJsonRaw(line);
  }
  return lastJsonValue;
}

/** Top-level scalar members of a JSON object line, or null when the line is not a JSON object. */
export function jsonObjectScalars(line: string): Map<string, string> | null {
  const v = parseCached(line);
  if (!isObject(v)) return null;
  const out = new Map<string, string>();
  for (const [k, member] of Object.entries(v)) {
    const text = scalarText(member);
    if (text !== null) out.set(k, text);
  }
  return out;
}

/** `| json`: every scalar, nested keys joined with "_"; null when the line is not a JSON object. */
export function parseJsonLine(line: string): [string, string][] | null {
  const v = parseCached(line);
  if (!isObject(v)) return null;
  const out: [string, string][] = [];
  const walk = (obj: Record<string, Raw>, prefix: string) => {
    for (const [k, member] of Object.entries(obj)) {
      const name = prefix + sanitizeLabelName(k);
      if (isObject(member)) walk(member, `${name}_`);
      else {
        const text = scalarText(member);
        if (text !== null) out.push([name, text]);
      }
    }
  };
  walk(v, '');
  return out;
}

/** A path in `| json name="a.b[0]"`: keys and array indexes. */
type JsonPathStep = string | number;

/** Parses `a.b`, `a["b c"]`, `a[0]`; throws for anything else. */
export function parseJsonExpression(expr: string): JsonPathStep[] {
  const steps: JsonPathStep[] = [];
  let i = 0;
  const fail = () => new QueryInputError(`json expression ${JSON.stringify(expr)} is not supported (use a.b, a["b"] or a[0])`);
  const ident = /^[A-Za-z_][A-Za-z0-9_-]*/;
  while (i < expr.length) {
    if (expr[i] === '.') {
      if (steps.length === 0) throw fail();
      i++;
    }
    if (expr[i] === '[') {
      const m = /^\[(?:(\d+)|"((?:[^"\\]|\\.)*)")\]/.exec(expr.slice(i));
      if (!m) throw fail();
      steps.push(m[1] !== undefined ? Number(m[1]) : (JSON.parse(`"${m[2]}"`) as string));
      i += m[0].length;
      continue;
    }
    const m = ident.exec(expr.slice(i));
    if (!m) throw fail();
    steps.push(m[0]);
    i += m[0].length;
  }
  if (steps.length === 0) throw fail();
  return steps;
}

function rawToText(v: Raw | undefined): string | null {
  if (v === undefined || v === null) return null;
  const s = scalarText(v);
  if (s !== null) return s;
  return JSON.stringify(v, (_k, x) => (isRawNumber(x) ? Number(x.__raw) : x));
}

/** `| json a="x.y"`: the values at the given paths; null when the line is not a JSON object. */
export function extractJsonPaths(line: string, params: { name: string; path: JsonPathStep[] }[]): [string, string][] | null {
  const v = parseCached(line);
  if (!isObject(v)) return null;
  const out: [string, string][] = [];
  for (const p of params) {
    let cur: Raw | undefined = v;
    for (const step of p.path) {
      if (typeof step === 'number') cur = Array.isArray(cur) ? cur[step] : undefined;
      else cur = isObject(cur) ? cur[step] : undefined;
      if (cur === undefined) break;
    }
    const text = rawToText(cur);
    if (text !== null) out.push([p.name, text]);
  }
  return out;
}

/**
 * `| logfmt`: key=value pairs, values bare or double-quoted with escapes. A
 * key without "=" has an empty value. Returns null for a malformed line when
 * strict (a quote left open, "=" without a key).
 */
export function parseLogfmt(line: string, strict: boolean): [string, string][] | null {
  const out: [string, string][] = [];
  let i = 0;
  const n = line.length;
  const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  while (i < n) {
    while (i < n && isSpace(line[i]!)) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && line[i] !== '=' && !isSpace(line[i]!) && line[i] !== '"') i++;
    const key = line.slice(keyStart, i);
    if (key === '') {
      if (strict) return null;
      // garbage: skip to the next space
      while (i < n && !isSpace(line[i]!)) i++;
      continue;
    }
    if (line[i] !== '=') {
      out.push([sanitizeLabelName(key), '']);
      continue;
    }
    i++; // '='
    let value = '';
    if (line[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = line[i]!;
        if (c === '\\' && i + 1 < n) {
          const e = line[i + 1]!;
          value += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          i += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      if (!closed && strict) return null;
    } else {
      const start = i;
      while (i < n && !isSpace(line[i]!)) i++;
      value = line.slice(start, i);
    }
    out.push([sanitizeLabelName(key), value]);
  }
  return out;
}

/** A compiled `pattern` expression: literals and captures (`<name>`, `<_>` to skip). */
interface PatternMatcher {
  names: string[];
  /** Captured values by name, or null when the line does not match. */
  match(line: string): [string, string][] | null;
  /** An RE2 pattern that matches exactly when match() is not null. */
  regex: string;
}

type PatternPart = { literal: string } | { capture: string };

export function compilePattern(pattern: string): PatternMatcher {
  const parts: PatternPart[] = [];
  const re = /<([A-Za-z_][A-Za-z0-9_]*)>/g;
  let last = 0;
  for (const m of pattern.matchAll(re)) {
    if (m.index > last) parts.push({ literal: pattern.slice(last, m.index) });
    const prev = parts[parts.length - 1];
    if (prev && 'capture' in prev) {
      throw new QueryInputError(`pattern ${JSON.stringify(pattern)}: captures <${prev.capture}> and <${m[1]}> must be separated by text`);
    }
    parts.push({ capture: m[1]! });
    last = m.index + m[0].length;
  }
  if (last < pattern.length) parts.push({ literal: pattern.slice(last) });
  const names = parts.flatMap((p) => ('capture' in p && p.capture !== '_' ? [p.capture] : []));
  if (!parts.some((p) => 'capture' in p)) {
    throw new QueryInputError(`pattern ${JSON.stringify(pattern)} has no capture (such as <name> or <_>)`);
  }
  // match() takes each literal at its first occurrence after the previous one,
  // so a line matches exactly when the literals occur in order (the first one
  // at the start when the pattern starts with it), which is what lit1.*lit2 says.
  const literals = parts.flatMap((p) => ('literal' in p ? [escapeRegex(p.literal)] : []));
  const regex = `(?s)${'literal' in parts[0]! ? '^' : ''}${literals.join('.*')}`;
  return {
    names,
    regex,
    match(line) {
      const out: [string, string][] = [];
      let pos = 0;
      for (let k = 0; k < parts.length; k++) {
        const p = parts[k]!;
        if ('literal' in p) {
          if (k === 0) {
            if (!line.startsWith(p.literal)) return null;
            pos = p.literal.length;
          }
          continue;
        }
        const next = parts[k + 1];
        let end: number;
        let after: number;
        if (next && 'literal' in next) {
          end = line.indexOf(next.literal, pos);
          if (end < 0) return null;
          after = end + next.literal.length;
        } else {
          end = line.length;
          after = end;
        }
        if (p.capture !== '_') out.push([p.capture, line.slice(pos, end)]);
        pos = after;
      }
      return out;
    },
  };
}

/** A compiled `| regexp`: the named groups of the first match. */
export function compileRegexpParser(pattern: string): { names: string[]; match(line: string): [string, string][] | null } {
  const groups = captureGroups(pattern);
  const names = groups.filter((g): g is string => g !== undefined);
  if (names.length === 0) throw new QueryInputError(`regexp ${JSON.stringify(pattern)} has no named capture group such as (?P<name>...)`);
  const re = compileJsRegex(pattern);
  return {
    names,
    match(line) {
      const m = re.exec(line);
      if (!m) return null;
      const out: [string, string][] = [];
      groups.forEach((g, i) => {
        if (g !== undefined && m[i + 1] !== undefined) out.push([g, m[i + 1]!]);
      });
      return out;
    },
  };
}
