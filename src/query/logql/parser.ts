/**
 * LogQL text → LogQL AST, hand-written (recursive descent over lexer.ts
 * tokens). Covers what Grafana's Loki data source and logcli send; every
 * other construct is an UnsupportedQueryError naming it, and syntax errors are
 * QueryParseErrors with the position and what was expected.
 *
 *   query     := expr EOF
 *   expr      := binary operators over unary, by precedence: or/unless < and <
 *                == != > < >= <= < + - < * / % < ^
 *   unary     := ("-" | "+") unary | primary
 *   primary   := "(" expr ")" | NUMBER | "vector" "(" NUMBER ")"
 *              | RANGE_FN "(" selector "[" DURATION "]" ")"
 *              | AGG ["by"|"without" labels] "(" [NUMBER ","] expr ")" ["by"|"without" labels]
 *              | selector                                   (a log query; only alone)
 *   selector  := "{" [matcher ("," matcher)*] "}" stage*
 *   stage     := LINE_OP STRING ("or" STRING)* | "|" parser | "|" label_filter | "|" format ...
 */
import type {
  AggOp,
  BinOp,
  Grouping,
  JsonParam,
  LabelFilter,
  LabelMatcher,
  LineFilterOp,
  LogQLQuery,
  LogSelector,
  MatchOp,
  MetricExpr,
  RangeFn,
  Stage,
} from './ast.ts';
import { AGG_OPS, RANGE_FUNCTIONS, UnsupportedQueryError } from './ast.ts';
import type { NumericOp } from '../ast.ts';
import { QueryParseError } from '../search.ts';
import { parseBytes, parseDurationNs, tokenize, type Token } from './lexer.ts';
import { compilePattern, compileRegexpParser, parseJsonExpression } from './parsers.ts';
import { compileTemplate } from './template.ts';
import { compileJsRegex } from '../regex.ts';

const LINE_OPS: ReadonlySet<string> = new Set(['|=', '!=', '|~', '!~', '|>', '!>']);
const MATCH_OPS: ReadonlySet<string> = new Set(['=', '!=', '=~', '!~']);
const UNSUPPORTED_RANGE_FNS = new Set([
  'sum_over_time', 'avg_over_time', 'max_over_time', 'min_over_time', 'first_over_time', 'last_over_time',
  'stdvar_over_time', 'stddev_over_time', 'quantile_over_time', 'absent_over_time', 'rate_counter',
]);
const UNSUPPORTED_FUNCTIONS = new Set(['label_replace', 'approx_topk', 'sqrt', 'round', 'ceil', 'floor', 'abs', 'clamp', 'clamp_max', 'clamp_min', 'timestamp']);
const UNSUPPORTED_STAGES = new Set(['unwrap', 'unpack', 'distinct', 'limit']);

const PRECEDENCE: Record<string, number> = {
  or: 1, unless: 1, and: 2,
  '==': 3, '!=': 3, '>': 3, '<': 3, '>=': 3, '<=': 3,
  '+': 4, '-': 4,
  '*': 5, '/': 5, '%': 5,
  '^': 6,
};

export function parseLogQL(text: string): LogQLQuery {
  return new Parser(text).parseQuery();
}

/** Just the stream selector and pipeline of a log query (for /series match[], /index/stats, tail). */
export function parseLogSelector(text: string): LogSelector {
  const q = parseLogQL(text);
  if (q.kind !== 'log') throw new QueryParseError('expected a log stream selector such as {service="api"}', 0, 'a log query');
  return q.selector;
}

const MAX_NESTING = 64;
const MAX_JOINS = 512;

class Parser {
  private readonly tokens: Token[];
  private p = 0;
  /** Open parentheses and unary signs around the current point. */
  private depth = 0;
  /** Binary operators and label-filter joins so far: each adds a level to the tree the evaluator walks. */
  private joins = 0;
  constructor(text: string) {
    this.tokens = tokenize(text);
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.p + offset, this.tokens.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.p++;
    return t;
  }
  private isOp(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'op' && t.text === text;
  }
  private isIdent(text?: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'ident' && (text === undefined || t.text === text);
  }
  /** Deep trees would overflow the stack here and in every later walk: refuse them with a 400. */
  private nest<T>(parse: () => T): T {
    if (++this.depth > MAX_NESTING) {
      throw new QueryParseError(`the query is nested too deeply (more than ${MAX_NESTING} levels)`, this.peek().pos, 'a flatter query');
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }
  private join(): void {
    if (++this.joins > MAX_JOINS) {
      throw new QueryParseError(`the query has more than ${MAX_JOINS} operators`, this.peek().pos, 'a shorter query');
    }
  }
  private fail(expected: string, t: Token = this.peek()): never {
    const what = t.kind === 'eof' ? 'end of query' : t.kind === 'string' ? `string ${JSON.stringify(t.text)}` : `"${t.text}"`;
    throw new QueryParseError(`unexpected ${what}`, t.pos, expected);
  }
  private expectOp(text: string): Token {
    if (!this.isOp(text)) this.fail(`"${text}"`);
    return this.next();
  }
  private expectString(what: string): Token {
    const t = this.peek();
    if (t.kind !== 'string') this.fail(what);
    return this.next();
  }
  private labelName(): string {
    const t = this.peek();
    if (t.kind !== 'ident') this.fail('a label name');
    return this.next().text;
  }

  parseQuery(): LogQLQuery {
    if (this.peek().kind === 'eof') throw new QueryParseError('empty query', 0, 'a stream selector such as {service="api"}');
    if (this.isOp('{')) {
      const selector = this.selector();
      if (this.peek().kind !== 'eof') this.fail('a pipeline stage or the end of the query');
      return { kind: 'log', selector };
    }
    const expr = this.expr(1);
    if (this.peek().kind !== 'eof') this.fail('an operator or the end of the query');
    return { kind: 'metric', expr };
  }

  // ------------------------------------------------------------ metric exprs

  private binaryOp(): string | null {
    const t = this.peek();
    if (t.kind === 'op' && t.text in PRECEDENCE) return t.text;
    if (t.kind === 'ident' && (t.text === 'and' || t.text === 'or' || t.text === 'unless')) return t.text;
    return null;
  }

  /** Precedence climbing: left-associative, except ^. */
  private expr(minPrec: number): MetricExpr {
    let left = this.unary();
    for (;;) {
      const op = this.binaryOp();
      if (op === null) return left;
      const prec = PRECEDENCE[op]!;
      if (prec < minPrec) return left;
      this.next();
      if (op === 'and' || op === 'or' || op === 'unless') throw new UnsupportedQueryError(`set operator "${op}"`);
      let bool = false;
      if (this.isIdent('bool')) {
        if (prec !== PRECEDENCE['==']) throw new QueryParseError('"bool" only follows a comparison', this.peek().pos, 'a comparison such as > or ==');
        this.next();
        bool = true;
      }
      if (this.isIdent('on') || this.isIdent('ignoring') || this.isIdent('group_left') || this.isIdent('group_right')) {
        throw new UnsupportedQueryError(`vector matching "${this.peek().text}"`, 'series match on identical label sets');
      }
      this.join();
      const right = this.nest(() => this.expr(op === '^' ? prec : prec + 1));
      left = { type: 'binary', op: op as BinOp, bool, left, right };
    }
  }

  private unary(): MetricExpr {
    if (this.isOp('-') || this.isOp('+')) {
      const neg = this.next().text === '-';
      const inner = this.nest(() => this.unary());
      if (!neg) return inner;
      if (inner.type === 'number') return { type: 'number', value: -inner.value };
      return { type: 'binary', op: '*', bool: false, left: { type: 'number', value: -1 }, right: inner };
    }
    return this.primary();
  }

  private primary(): MetricExpr {
    const t = this.peek();
    if (t.kind === 'number') {
      this.next();
      return { type: 'number', value: Number(t.text) };
    }
    if (this.isOp('(')) {
      this.next();
      const inner = this.nest(() => this.expr(1));
      this.expectOp(')');
      return { type: 'paren', inner };
    }
    if (this.isOp('{')) {
      throw new QueryParseError('a log query cannot be part of a metric expression', t.pos, 'a range aggregation such as count_over_time({...}[5m])');
    }
    if (t.kind !== 'ident') this.fail('a number, "(", a function or an aggregation');
    const name = t.text;
    if (name === 'vector') {
      this.next();
      this.expectOp('(');
      const v = this.signedNumber();
      this.expectOp(')');
      return { type: 'vector', value: v };
    }
    if ((RANGE_FUNCTIONS as readonly string[]).includes(name)) return this.rangeAgg(name as RangeFn);
    if ((AGG_OPS as readonly string[]).includes(name)) return this.vectorAgg(name as AggOp);
    if (UNSUPPORTED_RANGE_FNS.has(name)) throw new UnsupportedQueryError(name, 'supported: count_over_time, rate, bytes_over_time, bytes_rate');
    if (UNSUPPORTED_FUNCTIONS.has(name)) throw new UnsupportedQueryError(name);
    this.fail('a function such as count_over_time or an aggregation such as sum');
  }

  private signedNumber(): number {
    let sign = 1;
    if (this.isOp('-')) {
      this.next();
      sign = -1;
    }
    const t = this.peek();
    if (t.kind !== 'number') this.fail('a number');
    this.next();
    return sign * Number(t.text);
  }

  private rangeAgg(fn: RangeFn): MetricExpr {
    this.next();
    this.expectOp('(');
    if (!this.isOp('{')) this.fail('a stream selector such as {service="api"}');
    const selector = this.selector();
    this.expectOp('[');
    const d = this.peek();
    if (d.kind !== 'duration') this.fail('a range such as 5m');
    this.next();
    const rangeNs = parseDurationNs(d.text);
    if (rangeNs === undefined || rangeNs <= 0n) throw new QueryParseError(`"${d.text}" is not a range`, d.pos, 'a duration such as 5m');
    this.expectOp(']');
    if (this.isIdent('offset')) throw new UnsupportedQueryError('offset');
    // The old form puts the pipeline after the range: count_over_time({a="b"}[5m] |= "x").
    if (!this.isOp(')')) selector.stages.push(...this.stages());
    this.expectOp(')');
    if (this.isIdent('by') || this.isIdent('without')) throw new UnsupportedQueryError(`grouping on ${fn}`, 'group with an outer sum by (...)');
    return { type: 'range_agg', fn, selector, rangeNs, rangeText: d.text };
  }

  private grouping(): Grouping {
    const without = this.next().text === 'without';
    this.expectOp('(');
    const labels: string[] = [];
    while (!this.isOp(')')) {
      labels.push(this.labelName());
      if (!this.isOp(',')) break;
      this.next();
    }
    this.expectOp(')');
    return { without, labels };
  }

  private vectorAgg(op: AggOp): MetricExpr {
    this.next();
    let grouping: Grouping | undefined;
    if (this.isIdent('by') || this.isIdent('without')) grouping = this.grouping();
    this.expectOp('(');
    let param: number | undefined;
    if (op === 'topk' || op === 'bottomk') {
      param = this.signedNumber();
      if (!Number.isInteger(param) || param < 1) throw new QueryParseError(`${op} needs a positive whole number`, this.peek().pos, 'a number such as 5');
      this.expectOp(',');
    }
    const inner = this.expr(1);
    this.expectOp(')');
    if (this.isIdent('by') || this.isIdent('without')) {
      if (grouping) this.fail('one grouping, before or after the aggregation');
      grouping = this.grouping();
    }
    if ((op === 'sort' || op === 'sort_desc') && grouping) throw new QueryParseError(`${op} takes no grouping`, this.peek().pos, `${op}(expr)`);
    return { type: 'vector_agg', op, param, grouping, inner };
  }

  // -------------------------------------------------------------- log exprs

  private selector(): LogSelector {
    this.expectOp('{');
    const matchers: LabelMatcher[] = [];
    while (!this.isOp('}')) {
      matchers.push(this.matcher());
      if (this.isOp(',')) {
        this.next();
        continue;
      }
      if (!this.isOp('}')) this.fail('"," or "}"');
    }
    this.expectOp('}');
    return { matchers, stages: this.stages() };
  }

  private matcher(): LabelMatcher {
    const name = this.labelName();
    const t = this.peek();
    if (t.kind !== 'op' || !MATCH_OPS.has(t.text)) this.fail('=, !=, =~ or !~');
    this.next();
    const str = this.expectString('a quoted value');
    const value = str.text;
    const op = t.text as MatchOp;
    if (op === '=~' || op === '!~') validateRegex(value, str.pos);
    return { name, op, value };
  }

  private stages(): Stage[] {
    const stages: Stage[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'op' && LINE_OPS.has(t.text)) {
        stages.push(this.lineFilter());
        continue;
      }
      if (this.isOp('|')) {
        this.next();
        stages.push(this.pipeStage());
        continue;
      }
      return stages;
    }
  }

  private lineFilter(): Stage {
    const op = this.next().text as LineFilterOp;
    const values: string[] = [this.lineValue(op)];
    while (this.isIdent('or')) {
      this.next();
      values.push(this.lineValue(op));
    }
    return { type: 'line_filter', filter: { op, values } };
  }

  private lineValue(op: LineFilterOp): string {
    if (this.isIdent('ip')) throw new UnsupportedQueryError('ip() line filter');
    const t = this.expectString('a quoted string');
    if (op === '|~' || op === '!~') validateRegex(t.text, t.pos);
    if (op === '|>' || op === '!>') compilePattern(t.text);
    return t.text;
  }

  private pipeStage(): Stage {
    if (this.isOp('(')) return { type: 'label_filter', filter: this.labelFilterOr() };
    const t = this.peek();
    if (t.kind !== 'ident') this.fail('a parser (json, logfmt, regexp, pattern), a label filter or a format stage');
    const name = t.text;
    // A label filter starts with a label name followed by an operator.
    const after = this.peek(1);
    if (after.kind === 'op' && ['=', '!=', '=~', '!~', '==', '>', '>=', '<', '<='].includes(after.text)) {
      return { type: 'label_filter', filter: this.labelFilterOr() };
    }
    this.next();
    switch (name) {
      case 'json':
        return { type: 'json', params: this.jsonParams() };
      case 'logfmt':
        return this.logfmt();
      case 'regexp': {
        const s = this.expectString('a quoted regular expression');
        validateRegex(s.text, s.pos);
        compileRegexpParser(s.text);
        return { type: 'regexp', pattern: s.text };
      }
      case 'pattern': {
        const s = this.expectString('a quoted pattern such as "<ip> - <_>"');
        compilePattern(s.text);
        return { type: 'pattern', pattern: s.text };
      }
      case 'line_format': {
        const s = this.expectString('a quoted template');
        compileTemplate(s.text, s.pos);
        return { type: 'line_format', template: s.text };
      }
      case 'label_format':
        return this.labelFormat();
      case 'drop':
      case 'keep':
        return { type: name, items: this.dropItems() };
      case 'decolorize':
        return { type: 'decolorize' };
    }
    if (UNSUPPORTED_STAGES.has(name)) throw new UnsupportedQueryError(name);
    this.fail('a parser (json, logfmt, regexp, pattern), a label filter or a format stage', t);
  }

  private jsonParams(): JsonParam[] {
    const params: JsonParam[] = [];
    while (this.isIdent() && this.isOp('=', 1)) {
      const name = this.labelName();
      this.next();
      const s = this.expectString('a quoted JSON expression such as "a.b"');
      let path: (string | number)[];
      try {
        path = parseJsonExpression(s.text);
      } catch (err) {
        throw new QueryParseError((err as Error).message, s.pos, 'a.b, a["b"] or a[0]');
      }
      params.push({ name, expr: s.text, path });
      if (!this.isOp(',')) break;
      this.next();
    }
    return params;
  }

  private logfmt(): Stage {
    let strict = false;
    let keepEmpty = false;
    while (this.isOp('-') && this.isOp('-', 1)) {
      const pos = this.peek().pos;
      this.next();
      this.next();
      const flag = this.labelName();
      if (flag === 'strict') strict = true;
      else if (flag === 'keep_empty') keepEmpty = true;
      else throw new QueryParseError(`unknown logfmt flag --${flag}`, pos, '--strict or --keep-empty');
    }
    const params: { name: string; key: string }[] = [];
    while (this.isIdent() && this.isOp('=', 1)) {
      const name = this.labelName();
      this.next();
      params.push({ name, key: this.isIdent() ? this.next().text : this.expectString('a key').text });
      if (!this.isOp(',')) break;
      this.next();
    }
    return { type: 'logfmt', strict, keepEmpty, params };
  }

  private labelFormat(): Stage {
    const items: { name: string; rename?: string; template?: string }[] = [];
    do {
      if (items.length > 0) this.next();
      const name = this.labelName();
      this.expectOp('=');
      if (this.isIdent()) items.push({ name, rename: this.next().text });
      else {
        const s = this.expectString('a label name or a quoted template');
        compileTemplate(s.text, s.pos);
        items.push({ name, template: s.text });
      }
    } while (this.isOp(','));
    return { type: 'label_format', items };
  }

  private dropItems(): { name: string; matcher?: LabelMatcher }[] {
    const items: { name: string; matcher?: LabelMatcher }[] = [];
    do {
      if (items.length > 0) this.next();
      if (this.isIdent() && this.peek(1).kind === 'op' && MATCH_OPS.has(this.peek(1).text)) items.push({ name: this.peek().text, matcher: this.matcher() });
      else items.push({ name: this.labelName() });
    } while (this.isOp(','));
    return items;
  }

  private labelFilterOr(): LabelFilter {
    let left = this.labelFilterAnd();
    while (this.isIdent('or')) {
      this.next();
      this.join();
      left = { type: 'or', left, right: this.labelFilterAnd() };
    }
    return left;
  }

  private labelFilterAnd(): LabelFilter {
    let left = this.labelFilterPrimary();
    for (;;) {
      if (this.isIdent('and') || this.isOp(',')) this.next();
      else if (!(this.isIdent() && !this.isIdent('or') && this.peek(1).kind === 'op') && !this.isOp('(')) return left;
      this.join();
      left = { type: 'and', left, right: this.labelFilterPrimary() };
    }
  }

  private labelFilterPrimary(): LabelFilter {
    if (this.isOp('(')) {
      this.next();
      const inner = this.nest(() => this.labelFilterOr());
      this.expectOp(')');
      return inner;
    }
    const name = this.labelName();
    const opTok = this.peek();
    if (opTok.kind !== 'op' || !['=', '!=', '=~', '!~', '==', '>', '>=', '<', '<='].includes(opTok.text)) this.fail('a comparison (=, !=, =~, !~, ==, >, >=, <, <=)');
    this.next();
    const v = this.peek();
    if (this.isIdent('ip')) throw new UnsupportedQueryError('ip() label filter');
    if (v.kind === 'string') {
      this.next();
      if (!MATCH_OPS.has(opTok.text)) this.fail('a number, duration or size after a numeric comparison', v);
      if (opTok.text === '=~' || opTok.text === '!~') validateRegex(v.text, v.pos);
      return { type: 'string', name, op: opTok.text as MatchOp, value: v.text };
    }
    if (opTok.text === '=~' || opTok.text === '!~') this.fail('a quoted regular expression', v);
    const op = (opTok.text === '=' ? '==' : opTok.text) as NumericOp;
    let sign = 1;
    if (this.isOp('-')) {
      this.next();
      sign = -1;
    }
    const n = this.peek();
    this.next();
    if (n.kind === 'number') return { type: 'number', name, op, value: sign * Number(n.text) };
    if (n.kind === 'duration') {
      const ns = parseDurationNs(n.text);
      if (ns === undefined) throw new QueryParseError(`"${n.text}" is not a duration`, n.pos, 'a duration such as 250ms or 1m30s');
      return { type: 'duration', name, op, seconds: (sign * Number(ns)) / 1e9, text: n.text };
    }
    if (n.kind === 'bytes') {
      const b = parseBytes(n.text);
      if (b === undefined) throw new QueryParseError(`"${n.text}" is not a size`, n.pos, 'a size such as 20KB or 1MiB');
      return { type: 'bytes', name, op, bytes: sign * b, text: n.text };
    }
    this.fail('a quoted string, a number, a duration or a size', n);
  }
}

function validateRegex(pattern: string, pos: number): void {
  try {
    compileJsRegex(pattern);
  } catch (err) {
    throw new QueryParseError((err as Error).message, pos, 'a valid RE2 regular expression');
  }
}
