/**
 * The Go text/template subset `line_format` and `label_format` use in
 * practice: `{{.label}}`, `{{__line__}}`, `{{__timestamp__}}`, pipelines into
 * functions (`{{ .path | lower }}`), literals, `if`/`else`/`end`, and `{{-`/`-}}`
 * whitespace trimming. Anything else is refused when the query is parsed,
 * naming the construct, so a query never half-works.
 */
import { UnsupportedQueryError } from './ast.ts';
import { QueryParseError } from '../search.ts';
import { compileJsRegex } from '../regex.ts';

interface TemplateContext {
  labels: (name: string) => string;
  line: string;
  tsNs: bigint;
}

type Value = string | number | boolean;

type Arg =
  | { kind: 'field'; name: string }
  | { kind: 'line' }
  | { kind: 'timestamp' }
  | { kind: 'literal'; value: Value }
  | { kind: 'call'; fn: string; args: Arg[] }
  | { kind: 'pipeline'; commands: Arg[] };

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Arg }
  | { kind: 'if'; cond: Arg; then: Node[]; else: Node[] };

type Fn = (...args: Value[]) => Value;

const str = (v: Value) => (typeof v === 'string' ? v : String(v));
const truthy = (v: Value) => v !== '' && v !== 0 && v !== false;

/**
 * Longest text a template may produce (and any function in it): a function
 * such as repeat turns a short query into an allocation of any size, run on
 * every line. Beyond, rendering fails and the line gets TemplateFormatErr.
 */
export const MAX_TEMPLATE_CHARS = 1 << 20;

function sized(chars: number, what: string): void {
  if (chars > MAX_TEMPLATE_CHARS) throw new Error(`${what}: the result would be too long (${chars} characters, at most ${MAX_TEMPLATE_CHARS})`);
}

function occurrences(text: string, part: string): number {
  if (part === '') return text.length + 1;
  let n = 0;
  for (let i = text.indexOf(part); i !== -1; i = text.indexOf(part, i + part.length)) n++;
  return n;
}

const FUNCTIONS: Record<string, Fn> = {
  lower: (s) => str(s).toLowerCase(),
  ToLower: (s) => str(s).toLowerCase(),
  upper: (s) => str(s).toUpperCase(),
  ToUpper: (s) => str(s).toUpperCase(),
  title: (s) => str(s).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()),
  Title: (s) => FUNCTIONS.title!(s),
  trim: (s) => str(s).trim(),
  trimSpace: (s) => str(s).trim(),
  TrimSpace: (s) => str(s).trim(),
  trimAll: (cut, s) => trimChars(str(s), str(cut), true, true),
  trimLeft: (cut, s) => trimChars(str(s), str(cut), true, false),
  trimRight: (cut, s) => trimChars(str(s), str(cut), false, true),
  trimPrefix: (p, s) => (str(s).startsWith(str(p)) ? str(s).slice(str(p).length) : str(s)),
  trimSuffix: (p, s) => (str(s).endsWith(str(p)) && str(p) !== '' ? str(s).slice(0, -str(p).length) : str(s)),
  replace: (old, nu, s) => {
    const [t, o, n] = [str(s), str(old), str(nu)];
    if (n.length > o.length) sized(t.length + occurrences(t, o) * (n.length - o.length), 'replace');
    return t.replaceAll(o, n);
  },
  substr: (start, end, s) => {
    const t = str(s);
    const a = Math.max(0, Number(start));
    const b = Number(end) < 0 ? t.length : Math.min(t.length, Number(end));
    return a > b ? '' : t.slice(a, b);
  },
  len: (s) => str(s).length,
  default: (d, s) => (truthy(s) ? s : d),
  contains: (sub, s) => str(s).includes(str(sub)),
  hasPrefix: (p, s) => str(s).startsWith(str(p)),
  hasSuffix: (p, s) => str(s).endsWith(str(p)),
  repeat: (n, s) => {
    const count = Math.max(0, Number(n));
    sized(str(s).length * count, 'repeat');
    return str(s).repeat(count);
  },
  alignLeft: (n, s) => {
    sized(Number(n), 'alignLeft');
    return str(s).slice(0, Number(n)).padEnd(Number(n));
  },
  alignRight: (n, s) => {
    const t = str(s);
    const k = Number(n);
    sized(k, 'alignRight');
    return t.length >= k ? t.slice(t.length - k) : t.padStart(k);
  },
  regexReplaceAll: (re, s, repl) => str(s).replace(compileJsRegex(str(re), { extraFlags: 'g' }), str(repl).replace(/\$\{?(\w+)\}?/g, '$<$1>').replace(/\$<(\d+)>/g, '$$$1')),
  regexReplaceAllLiteral: (re, s, repl) => str(s).replace(compileJsRegex(str(re), { extraFlags: 'g' }), () => str(repl)),
  b64enc: (s) => Buffer.from(str(s)).toString('base64'),
  b64dec: (s) => Buffer.from(str(s), 'base64').toString('utf8'),
  urlencode: (s) => encodeURIComponent(str(s)),
  urldecode: (s) => decodeURIComponent(str(s)),
  eq: (a, b) => str(a) === str(b),
  ne: (a, b) => str(a) !== str(b),
  not: (a) => !truthy(a),
  and: (...xs) => xs.every(truthy),
  or: (...xs) => xs.some(truthy),
  printf: (fmt, ...args) => {
    let k = 0;
    return str(fmt).replace(/%([-+ 0#]*\d*(?:\.\d+)?)([svdfqx%])/g, (_m, _flags: string, verb: string) => {
      if (verb === '%') return '%';
      const a = args[k++];
      if (a === undefined) return `%!${verb}(MISSING)`;
      if (verb === 'd') return String(Math.trunc(Number(a)));
      if (verb === 'f') return Number(a).toFixed(6);
      if (verb === 'q') return JSON.stringify(str(a));
      if (verb === 'x') return Buffer.from(str(a)).toString('hex');
      return str(a);
    });
  },
};

function trimChars(s: string, cut: string, left: boolean, right: boolean): string {
  const set = new Set(cut);
  let a = 0;
  let b = s.length;
  if (left) while (a < b && set.has(s[a]!)) a++;
  if (right) while (b > a && set.has(s[b - 1]!)) b--;
  return s.slice(a, b);
}

export interface Template {
  source: string;
  /** Throws when a function fails on this line's values (urldecode of "%zz", a result over MAX_TEMPLATE_CHARS). */
  render(ctx: TemplateContext): string;
  /** Labels the template reads (for planning). */
  fields: Set<string>;
  usesLine: boolean;
}

export function compileTemplate(source: string, at = 0): Template {
  const nodes = parseNodes(source, at);
  const fields = new Set<string>();
  let usesLine = false;
  const visitArg = (a: Arg) => {
    if (a.kind === 'field') fields.add(a.name);
    else if (a.kind === 'line') usesLine = true;
    else if (a.kind === 'call') a.args.forEach(visitArg);
    else if (a.kind === 'pipeline') a.commands.forEach(visitArg);
  };
  const visit = (ns: Node[]) => {
    for (const n of ns) {
      if (n.kind === 'action') visitArg(n.pipeline);
      else if (n.kind === 'if') {
        visitArg(n.cond);
        visit(n.then);
        visit(n.else);
      }
    }
  };
  visit(nodes);
  return { source, fields, usesLine, render: (ctx) => renderNodes(nodes, ctx) };
}

function renderNodes(nodes: Node[], ctx: TemplateContext): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'action') out += str(evalArg(n.pipeline, ctx));
    else out += renderNodes(truthy(evalArg(n.cond, ctx)) ? n.then : n.else, ctx);
    sized(out.length, 'template');
  }
  return out;
}

function evalArg(a: Arg, ctx: TemplateContext, piped?: Value): Value {
  switch (a.kind) {
    case 'field':
      return ctx.labels(a.name);
    case 'line':
      return ctx.line;
    case 'timestamp':
      return new Date(Number(ctx.tsNs / 1_000_000n)).toISOString();
    case 'literal':
      return a.value;
    case 'pipeline': {
      let v: Value | undefined;
      for (const c of a.commands) v = evalArg(c, ctx, v);
      return v ?? '';
    }
    case 'call': {
      const args = a.args.map((x) => evalArg(x, ctx));
      if (piped !== undefined) args.push(piped);
      return FUNCTIONS[a.fn]!(...args);
    }
  }
}

// ------------------------------------------------------------------ parsing

function parseNodes(source: string, at: number): Node[] {
  type Frame = { nodes: Node[]; ifNode?: Extract<Node, { kind: 'if' }>; inElse: boolean; chained?: boolean };
  const root: Frame = { nodes: [], inElse: false };
  const stack: Frame[] = [root];
  const top = () => stack[stack.length - 1]!;
  const push = (n: Node) => {
    const f = top();
    if (f.ifNode) (f.inElse ? f.ifNode.else : f.ifNode.then).push(n);
    else f.nodes.push(n);
  };
  let i = 0;
  let trimNext = false;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    let text = source.slice(i, open < 0 ? source.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      if (text) push({ kind: 'text', text });
      break;
    }
    const close = source.indexOf('}}', open + 2);
    if (close < 0) throw new QueryParseError('unclosed template action', at + open, '"}}"');
    let inner = source.slice(open + 2, close);
    if (inner.startsWith('-')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    trimNext = inner.endsWith('-') && /\s-$/.test(inner);
    if (trimNext) inner = inner.slice(0, -1);
    if (text) push({ kind: 'text', text });
    const action = inner.trim();
    const kw = /^(if|else|end|range|with|define|template|block)\b/.exec(action)?.[1];
    if (kw === 'if') {
      const node: Extract<Node, { kind: 'if' }> = { kind: 'if', cond: parsePipeline(action.slice(2), at + open), then: [], else: [] };
      push(node);
      stack.push({ nodes: [], ifNode: node, inElse: false });
    } else if (kw === 'else') {
      const f = top();
      if (!f.ifNode || f.inElse) throw new QueryParseError('{{else}} without {{if}}', at + open, '{{if ...}} before');
      const rest = action.slice(4).trim();
      f.inElse = true;
      if (rest.startsWith('if')) {
        // else if: a nested if that ends with the same {{end}}
        const node: Extract<Node, { kind: 'if' }> = { kind: 'if', cond: parsePipeline(rest.slice(2), at + open), then: [], else: [] };
        f.ifNode.else.push(node);
        stack.push({ nodes: [], ifNode: node, inElse: false, chained: true });
      }
    } else if (kw === 'end') {
      if (stack.length === 1) throw new QueryParseError('{{end}} without {{if}}', at + open, 'an {{if}} before');
      while (stack.pop()!.chained) {
        /* an else-if chain closes with its if */
      }
    } else if (kw) {
      throw new UnsupportedQueryError(`template {{${kw}}}`, 'line_format and label_format support fields, functions and if/else');
    } else if (action.startsWith('/*')) {
      // a comment
    } else {
      push({ kind: 'action', pipeline: parsePipeline(action, at + open) });
    }
    i = close + 2;
  }
  if (stack.length !== 1) throw new QueryParseError('{{if}} without {{end}}', at + source.length, '{{end}}');
  return root.nodes;
}

function tokenizeAction(text: string, at: number): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\(|\)|\||[^\s()|"`]+)/y;
  let pos = 0;
  for (;;) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) break;
    out.push(m[1]!);
    pos = re.lastIndex;
  }
  if (text.slice(pos).trim() !== '') throw new QueryParseError('bad template action', at, 'fields, literals and functions');
  return out;
}

function parsePipeline(text: string, at: number): Arg {
  const tokens = tokenizeAction(text, at);
  let p = 0;
  const pipeline = (): Arg => {
    const commands: Arg[] = [command()];
    while (tokens[p] === '|') {
      p++;
      const c = command();
      if (c.kind !== 'call') throw new QueryParseError('only a function can follow "|" in a template', at, 'a function name');
      commands.push(c);
    }
    return commands.length === 1 ? commands[0]! : { kind: 'pipeline', commands };
  };
  const operand = (): Arg => {
    const t = tokens[p++];
    if (t === undefined) throw new QueryParseError('template action ends too early', at, 'a field, literal or function');
    if (t === '(') {
      const inner = pipeline();
      if (tokens[p++] !== ')') throw new QueryParseError('unclosed "(" in template', at, '")"');
      return inner;
    }
    if (t.startsWith('"')) return { kind: 'literal', value: JSON.parse(t) as string };
    if (t.startsWith('`')) return { kind: 'literal', value: t.slice(1, -1) };
    if (/^-?\d+(\.\d+)?$/.test(t)) return { kind: 'literal', value: Number(t) };
    if (t === 'true' || t === 'false') return { kind: 'literal', value: t === 'true' };
    if (t === '__line__') return { kind: 'line' };
    if (t === '__timestamp__') return { kind: 'timestamp' };
    if (/^\.[A-Za-z_][A-Za-z0-9_]*$/.test(t)) return { kind: 'field', name: t.slice(1) };
    if (t === '.') throw new UnsupportedQueryError('template "." (the whole label map)', 'name a label: {{.name}}');
    if (/^\$/.test(t)) throw new UnsupportedQueryError('template variables', 'name a label: {{.name}}');
    if (t in FUNCTIONS) return { kind: 'call', fn: t, args: [] };
    throw new UnsupportedQueryError(`template function ${t}`);
  };
  const command = (): Arg => {
    const first = operand();
    if (first.kind !== 'call') return first;
    while (p < tokens.length && tokens[p] !== '|' && tokens[p] !== ')') first.args.push(operand());
    return first;
  };
  const result = pipeline();
  if (p < tokens.length) throw new QueryParseError(`unexpected ${JSON.stringify(tokens[p])} in template`, at, 'the end of the action');
  return result;
}
