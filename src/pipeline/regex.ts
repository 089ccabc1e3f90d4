/**
 * Regular expressions from configuration (parse patterns, redaction rules,
 * correlation id patterns, regexes in filter expressions) must not be able to
 * hang the pipeline on a hostile line: `(a+)+$` against 100 KB of `a` takes
 * JavaScript's backtracking engine longer than the age of the universe.
 *
 * Decision (docs/decisions/0501-pipeline-regex-safety.md): RE2 semantics,
 * linear time, on two engines. First choice is V8 itself: with
 * `--enable-experimental-regexp-engine-on-excessive-backtracks`, a RegExp
 * that V8's linear-time engine can run starts on the fast backtracking
 * engine and switches to the linear one after 50,000 backtracks, so ordinary
 * patterns keep their speed and pathological ones stay linear. That engine
 * takes neither the `i` nor the `u` flag (case-insensitive patterns are
 * rewritten with explicit ASCII case classes, `a` → `[aA]`) nor counted
 * repetition above 16 (`[0-9a-f]{32}`); patterns it cannot run go to RE2
 * compiled to WebAssembly (re2-wasm), about ten times slower, equally
 * linear. Patterns neither runs (backreferences, lookahead) are refused at
 * start-up with an error naming the config key. The native `re2` package
 * was the first choice; it installs here only by compiling against the
 * system Node's headers, not Node 24's (see the decision record).
 */
import { setFlagsFromString } from 'node:v8';
import { RE2 } from 're2-wasm';
import { re2ForStore, re2ToJs } from '../query/regex.ts';
import { QueryInputError } from '../store/store.ts';

// Both flags only take effect for RegExps compiled after this point, which
// is why every pattern from configuration is compiled through this module.
setFlagsFromString('--enable-experimental-regexp-engine');
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

export class UnsafeRegexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeRegexError';
  }
}

const LETTER = /[A-Za-z]/;

function otherCase(c: string): string {
  const lower = c.toLowerCase();
  return lower === c ? c.toUpperCase() : lower;
}

/** Adds the other ASCII case of every letter and letter range inside a character class body. */
function foldClass(body: string): string {
  let extra = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (body[i + 1] === '-' && i + 2 < body.length && body[i + 2] !== ']') {
      const from = c.charCodeAt(0);
      const to = body.charCodeAt(i + 2);
      for (const [lo, hi, shift] of [
        [65, 90, 32],
        [97, 122, -32],
      ] as const) {
        const a = Math.max(from, lo);
        const b = Math.min(to, hi);
        if (a <= b) extra += `${String.fromCharCode(a + shift)}-${String.fromCharCode(b + shift)}`;
      }
      i += 2;
      continue;
    }
    if (LETTER.test(c)) extra += otherCase(c);
  }
  return body + extra;
}

/**
 * A JavaScript regex source rewritten to match ASCII letters in either case
 * without the `i` flag. Escapes, group syntax (`(?<name>`, `(?:`), `\k<name>`,
 * `\p{...}` and quantifier braces are left as they are.
 */
export function foldAsciiCase(source: string): string {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const n = source[i + 1] ?? '';
      let end = i + 2;
      if ((n === 'k' && source[end] === '<') || ((n === 'p' || n === 'P' || n === 'u') && source[end] === '{')) {
        end = source.indexOf(n === 'k' ? '>' : '}', end) + 1 || source.length;
      } else if (n === 'x') end += 2;
      else if (n === 'u') end += 4;
      else if (n === 'c') end += 1;
      out += source.slice(i, end);
      i = end - 1;
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      if (source[j] === '^') j++;
      if (source[j] === ']') j++;
      while (j < source.length && source[j] !== ']') j += source[j] === '\\' ? 2 : 1;
      const head = source[i + 1] === '^' ? '[^' : '[';
      out += head + foldClass(source.slice(i + head.length, j)) + ']';
      i = j;
      continue;
    }
    if (c === '(' && source[i + 1] === '?') {
      const group = /^\(\?(?:<[A-Za-z_$][\w$]*>|<=|<!|[:=!])/.exec(source.slice(i));
      if (group) {
        out += group[0];
        i += group[0].length - 1;
        continue;
      }
    }
    if (c === '{') {
      const braces = /^\{\d+(?:,\d*)?\}/.exec(source.slice(i));
      if (braces) {
        out += braces[0];
        i += braces[0].length - 1;
        continue;
      }
    }
    out += LETTER.test(c) ? `[${c}${otherCase(c)}]` : c;
  }
  return out;
}

const RE2_ONLY = /\[:\^?[a-z]+:\]|\\Q|\\[pP][A-Z]/;

export interface UserRegexOptions {
  /** Extra flags: `g` for replace-all, `m`, `s`. */
  flags?: string;
  /** Match case-insensitively (also spelled as a leading `(?i)` in the pattern). */
  ignoreCase?: boolean;
}

/** What callers use of a compiled pattern; RegExp and RE2 both provide it. */
export type UserRegex = RegExp | RE2;

/**
 * Compiles a pattern written in RE2 syntax (Go, Loki and DuckDB's dialect;
 * `(?P<name>...)` and a leading `(?i)`/`(?s)` are understood) so that it runs
 * in time linear in the input: on V8 with the linear-engine fallback when
 * that engine can run it, otherwise on RE2 compiled to WebAssembly. Throws
 * UnsafeRegexError (invalid, or needs backtracking) with a message that can
 * follow the config key.
 */
export function compileUserRegex(pattern: string, options: UserRegexOptions = {}): UserRegex {
  let js: { source: string; flags: string } | null = null;
  // POSIX classes, \Q...\E and one-letter \pL are RE2 syntax that JavaScript reads differently or not at all.
  if (!RE2_ONLY.test(pattern)) {
    try {
      js = re2ToJs(pattern);
    } catch (err) {
      if (!(err instanceof QueryInputError)) throw err;
    }
  }
  const extra = new Set(options.flags ?? '');
  if (js) {
    let source = js.source;
    const flags = new Set([...js.flags, ...extra]);
    if (flags.delete('i') || options.ignoreCase) source = foldAsciiCase(source);
    flags.delete('u');
    const flagText = [...flags].join('');
    let valid = true;
    try {
      new RegExp(source, flagText);
    } catch {
      valid = false;
    }
    if (valid && linearEngineRuns(source, flagText)) return new RegExp(source, flagText);
  }
  // Counted repetition above 16 (`[0-9a-f]{32}`) and RE2-only syntax (`[[:alpha:]]`, `\pL`) land here.
  const re2Flags = 'u' + [...extra].filter((f) => f === 'g' || f === 'm' || f === 's').join('') + (options.ignoreCase ? 'i' : '');
  try {
    return new RE2(re2ForStore(pattern), re2Flags);
  } catch (err) {
    const reason = (err as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /, '');
    if (/invalid escape sequence: \\\d|invalid perl operator: \(\?[=!<]/.test(reason)) {
      throw new UnsafeRegexError(
        `${JSON.stringify(pattern)} needs backtracking (backreferences such as \\1, or lookaround such as (?=...) or (?!...)); ` +
          'patterns in the configuration use RE2 semantics so that no line can make them run for long: rewrite it without those',
      );
    }
    throw new UnsafeRegexError(`${JSON.stringify(pattern)} is not a valid regular expression: ${reason}`);
  }
}

function linearEngineRuns(source: string, flags: string): boolean {
  try {
    new RegExp(source, flags + 'l');
    return true;
  } catch {
    return false;
  }
}
