/**
 * Message → masked token sequence, in one pass over the characters (the hot
 * path of template mining: every record goes through it).
 *
 * A message is split into tokens at whitespace and at punctuation that
 * separates fields in log lines (`= , ; : ( ) [ ] { } " ' < > |` and runs of
 * two or more dots). The punctuation is kept as the separators between tokens,
 * so a template prints like the line it came from. A token is a variable
 * (`<*>`) when it looks like one in any log: it has a digit, it is a path, a
 * month or weekday name, a unit right after a number, a hex/colon word (MAC,
 * IPv6, time of day), or an empty value in brackets. The reasons and the
 * measured effect of each rule are in docs/decisions/0701-template-mining.md.
 */

export const DEFAULT_MAX_TOKENS = 64;

/** How a wildcard prints in templates. Tokens never contain `<`, so it cannot clash with a word. */
export const WILDCARD = '<*>';
/** A wildcard inside lookup keys: control characters are whitespace to the tokenizer, so no token or separator holds it. */
const KEY_WILDCARD = '\u0001';

/** Masking and splitting rules; all on in production, switched off one at a time by the benchmark to measure each. */
export interface TokenRules {
  /** Split at field punctuation, not only at whitespace. */
  punctuation: boolean;
  /** Runs of two or more dots are separators (`processor.......0`, `Scanning...`). */
  leaderDots: boolean;
  /** Tokens with a digit are variables. */
  digits: boolean;
  /** Paths (`/x`, `./x`, `~/x`, anything with a backslash) and URLs (`scheme://...`) are variables. */
  paths: boolean;
  /** Month and weekday names are variables (dates written out inside messages). */
  dates: boolean;
  /** A unit word right after a number (`5.2 KB`, `30 ms`) is part of that value. */
  units: boolean;
  /** A word of hex digits with two or more colons (MAC, IPv6, 12:00:01) is one variable. */
  hexColon: boolean;
  /** `()`, `[]` or `{}` after whitespace is an empty value: the same slot as `(host)`. */
  emptyValue: boolean;
}

export const DEFAULT_TOKEN_RULES: TokenRules = {
  punctuation: true,
  leaderDots: true,
  digits: true,
  paths: true,
  dates: true,
  units: true,
  hexColon: true,
  emptyValue: true,
};

const DOT = 46;
const SLASH = 47;
const COLON = 58;

/** Character flags, looked up once per character: the hot loop is one table read and an OR. */
const C_SPACE = 1;
const C_PUNCT = 2;
const C_DIGIT = 4;
const C_BACKSLASH = 8;
/** Not a hex digit. */
const C_NONHEX = 16;
const C_DOT = 32;
const C_BREAK = C_SPACE | C_PUNCT;

function characterTable(punctuation: boolean): Uint8Array {
  const table = new Uint8Array(128).fill(C_NONHEX);
  for (let c = 0; c <= 32; c++) table[c] = C_SPACE | C_NONHEX;
  table[127] = C_SPACE | C_NONHEX;
  for (let c = 48; c <= 57; c++) table[c] = C_DIGIT;
  for (const ch of 'abcdefABCDEF') table[ch.charCodeAt(0)] = 0;
  table[92] = C_BACKSLASH | C_NONHEX;
  table[DOT] = C_DOT | C_NONHEX;
  if (punctuation) for (const ch of '=,;:()[]{}"\'<>|') table[ch.charCodeAt(0)] = C_PUNCT | C_NONHEX;
  return table;
}
const WITH_PUNCTUATION = characterTable(true);
const WHITESPACE_ONLY = characterTable(false);

const CLOSER: Record<number, number> = { 40: 41, 91: 93, 123: 125 };

const DATE_WORDS = new Set(
  'Jan Feb Mar Apr May Jun Jul Aug Sep Sept Oct Nov Dec January February March April June July August September October November December Mon Tue Wed Thu Fri Sat Sun Monday Tuesday Wednesday Thursday Friday Saturday Sunday'.split(
    ' ',
  ),
);
const UNIT_WORDS = new Set(
  'B KB MB GB TB PB KiB MiB GiB TiB bytes ns us µs ms s sec secs seconds min mins minutes h hours %'.split(' '),
);

/** Token and word flags share the character flags' bits. */
const F_DIGIT = C_DIGIT;
const F_BACKSLASH = C_BACKSLASH;
/** Only hex digits and colons so far in this whitespace-delimited word. */
const F_HEXCOLON = C_NONHEX;

/**
 * The tokens of the last message: reusable buffers (one tokenizer per miner,
 * never shared across concurrent calls) so the hot path allocates only the key.
 */
export class Tokenizer {
  readonly rules: TokenRules;
  private readonly classes: Uint8Array;
  /** Token spans in the message; an empty span is an empty value. */
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  variable = new Uint8Array(64);
  /** Normalized separator before token i; seps[count] is the one after the last token. */
  seps: string[] = [];
  count = 0;
  message = '';

  /** Tokens kept, at most: the rest of a longer message is one variable (memory per template stays bounded). */
  readonly maxTokens: number;

  constructor(rules: TokenRules = DEFAULT_TOKEN_RULES, maxTokens = DEFAULT_MAX_TOKENS) {
    this.rules = rules;
    this.classes = rules.punctuation ? WITH_PUNCTUATION : WHITESPACE_ONLY;
    this.maxTokens = Math.max(1, maxTokens);
  }

  /** Tokenizes and masks `message`; returns the lookup key of its masked form. */
  key(message: string): string {
    this.scan(message);
    let key = '';
    for (let i = 0; i < this.count; i++) {
      key += this.seps[i]!;
      key += this.variable[i] ? KEY_WILDCARD : message.slice(this.starts[i]!, this.ends[i]!);
    }
    return key + this.seps[this.count]!;
  }

  /** The masked tokens of the last message, `<*>` for variables. */
  tokens(): string[] {
    const out = new Array<string>(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.variable[i] ? WILDCARD : this.message.slice(this.starts[i]!, this.ends[i]!);
    return out;
  }

  separators(): string[] {
    return this.seps.slice(0, this.count + 1);
  }

  private push(start: number, end: number, flags: number, sep: string): void {
    if (this.isUnitOfPrevious(start, end, sep)) {
      this.ends[this.count - 1] = end;
      return;
    }
    if (this.count === this.starts.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
      const v = new Uint8Array(this.variable.length * 2);
      v.set(this.variable);
      this.variable = v;
    }
    const i = this.count++;
    this.starts[i] = start;
    this.ends[i] = end;
    this.seps[i] = sep;
    this.variable[i] = this.isVariable(start, end, flags) ? 1 : 0;
  }

  private scan(s: string): void {
    const classes = this.classes;
    const rules = this.rules;
    const n = s.length;
    this.message = s;
    this.count = 0;
    let sep = '';
    let wordFirstToken = 0;
    let wordFlags = F_HEXCOLON;
    let wordColons = 0;
    let inWord = false;
    let i = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      const cls = c < 128 ? classes[c]! : C_NONHEX;
      if (cls & C_SPACE) {
        if (inWord) this.endWord(wordFirstToken, wordFlags, wordColons);
        inWord = false;
        if (sep.length > 0 || this.count > 0) {
          if (sep.charCodeAt(sep.length - 1) !== 32) sep += ' ';
        }
        i++;
        continue;
      }
      if (this.count >= this.maxTokens - 1) {
        let end = n;
        while (end > i && s.charCodeAt(end - 1) <= 32) end--;
        this.push(i, end, 0, sep);
        this.variable[this.count - 1] = 1;
        sep = '';
        inWord = false;
        break;
      }
      if (!inWord) {
        inWord = true;
        wordFirstToken = this.count;
        wordFlags = F_HEXCOLON;
        wordColons = 0;
      }
      if (cls & C_PUNCT || (c === DOT && rules.leaderDots && s.charCodeAt(i + 1) === DOT)) {
        if (c === COLON && rules.paths && sep === '' && this.count > 0 && this.ends[this.count - 1] === i && s.startsWith('//', i + 1)) {
          i = this.extendToUrl(i + 3);
          wordFlags &= ~F_HEXCOLON;
          continue;
        }
        if (c === COLON) wordColons++;
        else wordFlags &= ~F_HEXCOLON;
        if (c === DOT) {
          while (s.charCodeAt(i) === DOT) {
            sep += '.';
            i++;
          }
          continue;
        }
        const closer = CLOSER[c];
        if (closer !== undefined && rules.emptyValue && s.charCodeAt(i + 1) === closer && (i === 0 || s.charCodeAt(i - 1) <= 32)) {
          this.push(i + 1, i + 1, 0, sep + s[i]);
          sep = s[i + 1]!;
          i += 2;
          continue;
        }
        sep += s[i];
        i++;
        continue;
      }
      const start = i;
      let flags = 0;
      for (; i < n; i++) {
        const d = s.charCodeAt(i);
        const f = d < 128 ? classes[d]! : C_NONHEX;
        if (f & C_BREAK || (f & C_DOT && rules.leaderDots && s.charCodeAt(i + 1) === DOT)) break;
        flags |= f;
      }
      // The word stays hex-only while no token has a non-hex character; it has a digit once any token has.
      wordFlags = (wordFlags & ~(flags & C_NONHEX)) | (flags & F_DIGIT);
      this.push(start, i, flags, sep);
      sep = '';
    }
    if (inWord) this.endWord(wordFirstToken, wordFlags, wordColons);
    if (sep.charCodeAt(sep.length - 1) === 32) sep = sep.slice(0, -1);
    this.seps[this.count] = sep;
  }

  /** `scheme://...` up to whitespace or closing punctuation is one value, whatever colons and slashes it has. */
  private extendToUrl(from: number): number {
    const s = this.message;
    let j = from;
    while (j < s.length) {
      const d = s.charCodeAt(j);
      if (d <= 32 || d === 34 || d === 39 || d === 41 || d === 44 || d === 59 || d === 62 || d === 93 || d === 125 || d === 124) break;
      j++;
    }
    const last = this.count - 1;
    this.ends[last] = j;
    this.variable[last] = 1;
    return j;
  }

  /** A MAC address, IPv6 address or clock time is one value, not a run of hex tokens that happen to be words. */
  private endWord(firstToken: number, flags: number, colons: number): void {
    if (!this.rules.hexColon || colons < 2 || (flags & (F_HEXCOLON | F_DIGIT)) !== (F_HEXCOLON | F_DIGIT)) return;
    if (this.count - firstToken < 2) return;
    // The word's leading separator stays; its inner colons become part of the one value.
    const start = this.starts[firstToken]!;
    const end = this.ends[this.count - 1]!;
    this.count = firstToken;
    this.push(start, end, F_DIGIT, this.seps[firstToken]!);
  }

  private isVariable(start: number, end: number, flags: number): boolean {
    const rules = this.rules;
    if (start === end) return rules.emptyValue;
    if (flags & F_DIGIT) return rules.digits;
    const s = this.message;
    const first = s.charCodeAt(start);
    if (rules.paths) {
      if (flags & F_BACKSLASH || first === SLASH) return true;
      if ((first === DOT || first === 126) && (s.charCodeAt(start + 1) === SLASH || (s.charCodeAt(start + 1) === DOT && s.charCodeAt(start + 2) === SLASH))) return true;
    }
    const length = end - start;
    return rules.dates && length >= 3 && length <= 9 && first >= 65 && first <= 90 && DATE_WORDS.has(s.slice(start, end));
  }

  /** `5.2 KB`, `30 ms`: the unit joins the number before it, so sizes print as one `<*>` whatever their unit. */
  private isUnitOfPrevious(start: number, end: number, sep: string): boolean {
    if (!this.rules.units || sep !== ' ' || this.count === 0 || end - start > 7 || start === end) return false;
    const prev = this.count - 1;
    if (!this.variable[prev]) return false;
    const last = this.message.charCodeAt(this.ends[prev]! - 1);
    return last >= 48 && last <= 57 && UNIT_WORDS.has(this.message.slice(start, end));
  }
}
