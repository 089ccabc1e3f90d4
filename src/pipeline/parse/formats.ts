/**
 * Structured text → fields: JSON objects, logfmt and key=value pairs. Each
 * parser returns null when the text is not in its format (a mismatch, not an
 * error) and throws ParseLimitError when the text is but exceeds a limit.
 * Every scanner here is a single left-to-right pass.
 */
import type { Attrs, JsonValue } from '../../record/record.ts';
import { putOwn } from '../../record/attrs.ts';

export class ParseLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParseLimitError';
  }
}

export interface Limits {
  maxDepth: number;
  maxFields: number;
}

/** Nesting depth of a JSON value, counted without recursion (a hostile line can nest 100k deep). */
function depthOf(value: JsonValue, limit: number): number {
  let max = 0;
  const stack: [JsonValue, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return max;
}

export function parseJsonObject(text: string, limits: Limits): Attrs | null {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) <= 32) i++;
  if (text.charCodeAt(i) !== 123 /* { */) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const attrs = value as Attrs;
  if (Object.keys(attrs).length > limits.maxFields) throw new ParseLimitError(`more than ${limits.maxFields} fields (parse max_fields)`);
  if (depthOf(attrs, limits.maxDepth) > limits.maxDepth) throw new ParseLimitError(`JSON nested deeper than ${limits.maxDepth} levels (parse max_depth)`);
  return attrs;
}

const SPACE = 32;
const QUOTE = 34;
const BACKSLASH = 92;

function isSpace(c: number): boolean {
  return c === SPACE || c === 9 || c === 10 || c === 13;
}

/** A double-quoted value starting at `start` (the quote): its text with \" \\ \n \t unescaped, and the index after it. */
function quoted(text: string, start: number): [string, number] {
  let out = '';
  let from = start + 1;
  let i = from;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) break;
    if (c === BACKSLASH && i + 1 < text.length) {
      out += text.slice(from, i);
      const n = text[i + 1]!;
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n;
      i++;
      from = i + 1;
    }
  }
  return [out + text.slice(from, i), i + 1];
}

export interface KeyValueOptions {
  /** Separator between a key and its value. */
  separator: string;
  /** logfmt: every token must be `key` or `key=value`; kv: pairs are picked out of any text. */
  strict: boolean;
}

/** Key characters: letters, digits, `_ . @ / -`. */
function isKeyChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 45 && c <= 57) || c === 95 || c === 64;
}

/**
 * logfmt (`level=info msg="a b" ok`: starts with a pair, bare words are
 * flags) and key=value pairs in free text
 * (`login failed user=bob ip=10.0.0.1`). Values stay text (a number in a log
 * line is text until a query compares it). Keys with dots nest as attributes do.
 */
export function parseKeyValues(text: string, options: KeyValueOptions, limits: Limits): [string, string | boolean][] | null {
  const pairs: [string, string | boolean][] = [];
  const sep = options.separator;
  const n = text.length;
  let i = 0;
  let sawPair = false;
  while (i < n) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && isKeyChar(text.charCodeAt(i))) i++;
    const key = text.slice(keyStart, i);
    if (key !== '' && text.startsWith(sep, i)) {
      i += sep.length;
      let value: string;
      if (text.charCodeAt(i) === QUOTE) [value, i] = quoted(text, i);
      else {
        const valueStart = i;
        while (i < n && !isSpace(text.charCodeAt(i))) i++;
        value = text.slice(valueStart, i);
        // kv in prose: `user=bob,` and `(pid=42)` should not keep the punctuation.
        if (!options.strict) value = value.replace(/[,;)\]]+$/, '');
      }
      if (pairs.length >= limits.maxFields) throw new ParseLimitError(`more than ${limits.maxFields} fields (parse max_fields)`);
      pairs.push([key, value]);
      sawPair = true;
      continue;
    }
    if (options.strict) {
      // A bare key is a flag, but a line must start with a pair: `upstream timed out user=bob` is prose.
      if (!sawPair || key === '' || (i < n && !isSpace(text.charCodeAt(i)))) return null;
      pairs.push([key, true]);
      continue;
    }
    // Skip a quoted phrase, a character that cannot start a key (`(pid=42)`), or a word that is not a pair.
    if (text.charCodeAt(i) === QUOTE) [, i] = quoted(text, i);
    else if (key === '') i++;
    else while (i < n && !isSpace(text.charCodeAt(i))) i++;
  }
  return sawPair ? pairs : null;
}

/** Pairs → attrs; a repeated key keeps its last value. */
export function pairsToAttrs(pairs: [string, JsonValue][]): Attrs {
  const out: Attrs = {};
  for (const [k, v] of pairs) putOwn(out, k, v);
  return out;
}
