/**
 * The search-box syntax → AST.
 *
 *   timeout service:api level>=warning host:web-* "connection reset" -debug
 *   (status:500 OR status:503) attrs.user.id:42 host:/web-\d+/ NOT unit:cron
 *
 * Grammar (AND binds tighter than OR; juxtaposition is AND):
 *   query   := or EOF
 *   or      := and ( "OR" and )*
 *   and     := unary ( ["AND"] unary )*
 *   unary   := ("-" | "NOT") unary | primary
 *   primary := "(" or ")" | term
 *   term    := FIELD op value | WORD | PREFIX* | "PHRASE"
 *   op      := ":" | "=" | "!=" | ">=" | "<=" | ">" | "<"
 *   value   := WORD | "PHRASE" | /REGEX/ | *
 *
 * Words and phrases match the message case-insensitively; `conn*` matches a
 * word starting with "conn". Host names compare case-insensitively (Windows
 * writes them in capitals, people type them in lower case); `os` and `type`
 * values are lower-case words; other values are exact. `id:<record id>` finds
 * one record.
 */
import type { CompareOp, Expr, FieldRef, FilterFieldName } from './ast.ts';
import { ALL, FILTER_FIELDS, and, or } from './ast.ts';
import { parseSeverity } from '../record/severity.ts';
import { parseTimeBound } from './timerange.ts';

export class QueryParseError extends Error {
  readonly position: number;
  readonly expected: string;
  constructor(message: string, position: number, expected: string) {
    super(`${message} at position ${position}${expected ? `: expected ${expected}` : ''}`);
    this.name = 'QueryParseError';
    this.position = position;
    this.expected = expected;
  }
}

/** Other names people type for core fields. */
const FIELD_ALIASES: Record<string, FilterFieldName> = {
  level: 'severity',
  lvl: 'severity',
  hostname: 'host',
  app: 'unit',
  program: 'unit',
  msg: 'message',
  time: 'ts',
  timestamp: 'ts',
};
const CORE_FILTER_FIELDS: ReadonlySet<string> = new Set(FILTER_FIELDS);

const RECORD_ID = /^[0-9a-fA-F]{32}$/;
/** Parentheses and negations nested deeper than this are refused (the parser and the SQL recurse on them). */
const MAX_NESTING = 64;
const FIELD_TERM = /^([A-Za-z_@][A-Za-z0-9_.@]*)(:|!=|>=|<=|=|>|<)/;
const WORD_END = /[\s()]/;

export interface SearchParseOptions {
  /** "now" for relative times inside the query (ts>now-1h); ns. */
  nowNs?: bigint;
}

export function parseSearch(text: string, options: SearchParseOptions = {}): Expr {
  return new Parser(text, options).parseQuery();
}

class Parser {
  private pos = 0;
  private depth = 0;
  private readonly text: string;
  private readonly options: SearchParseOptions;
  constructor(text: string, options: SearchParseOptions) {
    this.text = text;
    this.options = options;
  }

  parseQuery(): Expr {
    this.skipSpace();
    if (this.pos >= this.text.length) return ALL;
    const expr = this.parseOr();
    this.skipSpace();
    if (this.pos < this.text.length) {
      throw new QueryParseError(`unexpected "${this.text[this.pos]}"`, this.pos, 'a term, "OR" or the end of the query');
    }
    return expr;
  }

  private parseOr(): Expr {
    const items = [this.parseAnd()];
    while (this.keyword('OR')) items.push(this.parseAnd());
    return or(items);
  }

  private parseAnd(): Expr {
    const items: Expr[] = [];
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.text.length || this.peek() === ')' || this.atKeyword('OR')) break;
      if (items.length > 0) this.keyword('AND');
      items.push(this.parseUnary());
    }
    if (items.length === 0) {
      throw new QueryParseError('missing term', this.pos, 'a word, "phrase", field:value or "("');
    }
    return and(items);
  }

  private parseUnary(): Expr {
    this.skipSpace();
    if (this.keyword('NOT')) return { type: 'not', item: this.nested(() => this.parseUnary()) };
    if (this.peek() === '-' && this.pos + 1 < this.text.length && !/\s/.test(this.text[this.pos + 1]!)) {
      this.pos++;
      return { type: 'not', item: this.nested(() => this.parseUnary()) };
    }
    return this.parsePrimary();
  }

  private nested(parse: () => Expr): Expr {
    if (++this.depth > MAX_NESTING) throw new QueryParseError(`the query is nested too deeply (more than ${MAX_NESTING} levels of parentheses and negations)`, this.pos, 'a flatter query');
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private parsePrimary(): Expr {
    this.skipSpace();
    const start = this.pos;
    const c = this.peek();
    if (c === undefined) throw new QueryParseError('query ends too early', start, 'a term');
    if (c === '(') {
      this.pos++;
      const inner = this.nested(() => this.parseOr());
      this.skipSpace();
      if (this.peek() !== ')') throw new QueryParseError('unclosed "("', this.pos, '")"');
      this.pos++;
      return inner;
    }
    if (c === ')') throw new QueryParseError('unexpected ")"', start, 'a term');
    if (c === '"') return { type: 'text', value: this.readQuoted() };
    const field = FIELD_TERM.exec(this.text.slice(start, start + 256));
    if (field) {
      const afterOp = start + field[0].length;
      const next = this.text[afterOp];
      const emptyValue = next === undefined || WORD_END.test(next);
      const looksLikeUrl = field[2] === ':' && this.text.startsWith('//', afterOp);
      if (!emptyValue && !looksLikeUrl) {
        this.pos = afterOp;
        return this.parseFieldTerm(field[1]!, field[2]!, start);
      }
    }
    const word = this.readWord();
    if (/^[^*?]+\*$/.test(word)) return { type: 'prefix', value: word.slice(0, -1) };
    return { type: 'text', value: word };
  }

  private parseFieldTerm(name: string, op: string, start: number): Expr {
    const field = resolveField(name);
    const valueStart = this.pos;
    const c = this.peek();
    let value: string;
    let kind: 'word' | 'phrase' | 'regex';
    if (c === '"') {
      value = this.readQuoted();
      kind = 'phrase';
    } else if (c === '/') {
      value = this.readRegex();
      kind = 'regex';
    } else {
      value = this.readWord();
      kind = 'word';
    }
    const negate = op === '!=';
    const expr = this.fieldExpr(field, negate ? ':' : op, value, kind, valueStart, start);
    return negate ? { type: 'not', item: expr } : expr;
  }

  private fieldExpr(field: FieldRef, op: string, value: string, kind: 'word' | 'phrase' | 'regex', valueStart: number, start: number): Expr {
    const name = field.kind === 'core' ? field.name : undefined;
    if (op === ':' || op === '=') {
      if (kind === 'regex') return { type: 'regex', field, pattern: value };
      if (kind === 'word' && value === '*') return { type: 'exists', field };
      if (field.kind === 'attr' && field.path.length === 1 && field.path[0] === 'id' && RECORD_ID.test(value)) {
        return { type: 'id', id: value.toLowerCase() };
      }
      if (name === 'severity') return { type: 'eq', field, value: this.severityValue(value, valueStart) };
      if (name === 'ts' || name === 'observed_ts') {
        throw new QueryParseError(`"${name}" takes a comparison`, start, `${name}>=TIME or ${name}<TIME`);
      }
      if (name === 'message' && kind !== 'word') return { type: 'text', value };
      if (kind === 'word' && /[*?]/.test(value)) {
        if (name === 'message' && /^\*[^*?]+\*$/.test(value)) return { type: 'text', value: value.slice(1, -1) };
        return { type: 'glob', field, pattern: value, ...(name === 'host' ? { caseInsensitive: true } : {}) };
      }
      if (name === 'message') return { type: 'text', value };
      if (name === 'os' || name === 'type') return { type: 'eq', field, value: value.toLowerCase() };
      if (name === 'host') return { type: 'eq', field, value, caseInsensitive: true };
      return { type: 'eq', field, value };
    }
    const cmp = op as CompareOp;
    if (kind === 'regex') throw new QueryParseError('a regex needs ":"', valueStart, `${op} followed by a number or time`);
    if (name === 'severity') {
      // Severity compares by badness: level>=warning is warning or worse, i.e. numerically <= 4.
      const sev = this.severityValue(value, valueStart);
      const flipped: Record<CompareOp, CompareOp> = { '>=': '<=', '>': '<', '<=': '>=', '<': '>' };
      return { type: 'cmp', field, op: flipped[cmp], value: sev };
    }
    if (name === 'ts' || name === 'observed_ts') {
      const ns = parseTimeBound(value, this.options.nowNs);
      if (ns === undefined) throw new QueryParseError(`"${value}" is not a time`, valueStart, 'RFC 3339, epoch ms, or now-1h');
      return { type: 'cmp', field, op: cmp, value: ns };
    }
    const num = Number(value);
    if (value === '' || !Number.isFinite(num)) {
      throw new QueryParseError(`"${value}" is not a number`, valueStart, `a number after ${op}`);
    }
    return { type: 'cmp', field, op: cmp, value: num };
  }

  private severityValue(value: string, at: number): number {
    const sev = parseSeverity(value);
    if (sev === undefined) {
      throw new QueryParseError(`"${value}" is not a severity`, at, 'emerg, alert, crit, err, warning, notice, info, debug or 0-7');
    }
    return sev;
  }

  private readWord(): string {
    const start = this.pos;
    while (this.pos < this.text.length && !WORD_END.test(this.text[this.pos]!)) this.pos++;
    if (this.pos === start) throw new QueryParseError('missing value', start, 'a word');
    return this.text.slice(start, this.pos);
  }

  private readQuoted(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (c === '\\' && this.pos + 1 < this.text.length) {
        out += this.text[this.pos + 1];
        this.pos += 2;
        continue;
      }
      if (c === '"') {
        this.pos++;
        return out;
      }
      out += c;
      this.pos++;
    }
    throw new QueryParseError('unterminated quote', start, 'a closing "');
  }

  private readRegex(): string {
    const start = this.pos;
    this.pos++;
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (c === '\\' && this.text[this.pos + 1] === '/') {
        out += '/';
        this.pos += 2;
        continue;
      }
      if (c === '/') {
        this.pos++;
        if (out === '') throw new QueryParseError('empty regex', start, 'a pattern between slashes');
        return out;
      }
      out += c;
      this.pos++;
    }
    throw new QueryParseError('unterminated regex', start, 'a closing /');
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private atKeyword(word: string): boolean {
    this.skipSpace();
    if (!this.text.startsWith(word, this.pos)) return false;
    const after = this.text[this.pos + word.length];
    return after === undefined || /[\s(]/.test(after);
  }

  private keyword(word: string): boolean {
    if (!this.atKeyword(word)) return false;
    this.pos += word.length;
    return true;
  }
}

/** A field name as typed → a core column or an attrs path (`attrs.a.b`, or any other name). */
export function resolveField(name: string): FieldRef {
  const lower = name.toLowerCase();
  if (lower.startsWith('attrs.') && name.length > 6) return { kind: 'attr', path: name.slice(6).split('.') };
  const alias = FIELD_ALIASES[lower];
  if (alias) return { kind: 'core', name: alias };
  if (CORE_FILTER_FIELDS.has(lower)) return { kind: 'core', name: lower as FilterFieldName };
  return { kind: 'attr', path: name.split('.') };
}
