/**
 * Regular expressions are written in RE2 syntax (what DuckDB runs and what
 * Loki and Go accept); the in-process evaluator (live tail, post-filters)
 * runs them as JavaScript RegExps. This maps the RE2 spellings JavaScript
 * does not know (leading `(?i)`/`(?s)` flags, `(?P<name>`, `\z`, `\A`) and
 * numbers capture groups the way both engines do.
 */
import { QueryInputError } from '../store/store.ts';
import { UnsafeRegexError, compileUserRegex, type UserRegex } from '../pipeline/regex.ts';

interface JsRegex {
  source: string;
  flags: string;
}

const LEADING_FLAGS = /^(?:\(\?[imsU]+\))+/;

/** RE2 pattern → JavaScript RegExp source and flags; throws QueryInputError for what cannot be mapped. */
export function re2ToJs(pattern: string): JsRegex {
  let flags = '';
  let body = pattern;
  const lead = LEADING_FLAGS.exec(body);
  if (lead) {
    for (const f of lead[0].replace(/[()?]/g, '')) {
      if (f === 'U') throw new QueryInputError(`regex ${JSON.stringify(pattern)}: the (?U) flag is not supported`);
      if (!flags.includes(f)) flags += f;
    }
    body = body.slice(lead[0].length);
  }
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      const n = body[i + 1];
      if (n === 'z') out += '(?![\\s\\S])';
      else if (n === 'A') out += '(?<![\\s\\S])';
      else if (n !== undefined) out += c + n;
      i++;
      continue;
    }
    if (c === '(' && body.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
      continue;
    }
    if (c === '(' && /^\(\?[imsU-]+[:)]/.test(body.slice(i))) {
      throw new QueryInputError(`regex ${JSON.stringify(pattern)}: flags are supported only at the start, as (?i) or (?s)`);
    }
    out += c;
  }
  return { source: out, flags };
}

/** RE2 as DuckDB's RE2 build reads it: `(?<name>` is spelled `(?P<name>` there. */
export function re2ForStore(pattern: string): string {
  return pattern.replace(/(^|[^\\])\(\?<(?=[A-Za-z_])/g, '$1(?P<');
}

/**
 * A query's regex for the in-process evaluator (live tail, LogQL post-filters,
 * templates). It runs on the main thread on every line, so it goes through the
 * same linear-time compiler as configured regexes: a reader's `(?i)(x+x+)+y`
 * must not freeze the server.
 */
export function compileJsRegex(pattern: string, opts: { anchored?: boolean; extraFlags?: string } = {}): UserRegex {
  const lead = LEADING_FLAGS.exec(pattern)?.[0] ?? '';
  const body = pattern.slice(lead.length);
  try {
    return compileUserRegex(opts.anchored ? `${lead}^(?:${body})$` : pattern, { flags: opts.extraFlags });
  } catch (err) {
    if (err instanceof UnsafeRegexError) throw new QueryInputError(`regex ${JSON.stringify(pattern)}: ${err.message}`);
    throw err;
  }
}

/** Names of the capture groups in order; unnamed groups are undefined. Both engines number groups by opening parenthesis. */
export function captureGroups(pattern: string): (string | undefined)[] {
  const groups: (string | undefined)[] = [];
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
      continue;
    }
    if (c !== '(') continue;
    if (pattern[i + 1] !== '?') {
      groups.push(undefined);
      continue;
    }
    const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(pattern.slice(i));
    if (named) groups.push(named[1]);
  }
  return groups;
}

/** Escapes text so it matches itself in RE2 and JavaScript. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
