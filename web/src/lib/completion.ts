/**
 * Search box completion: what is being typed at the cursor (a field name, or
 * the value of `field:`), the candidates for it, and the text after picking
 * one. Field names come from GET /api/v1/fields, values from
 * GET /api/v1/fields/{name}/values.
 */
import { quoteValue } from './query-build.ts';
import { SEVERITIES } from './severity.ts';

export type CompletionContext =
  | { kind: 'field'; prefix: string; start: number; end: number }
  | { kind: 'value'; field: string; prefix: string; start: number; end: number };

const FIELD_PREFIX = /^[A-Za-z_@][A-Za-z0-9_.@]*$/;
const FIELD_OP = /^([A-Za-z_@][A-Za-z0-9_.@]*)(:|!=|>=|<=|=|>|<)/;

/** Start of the term the cursor is in: after the last space or "(" outside quotes. */
function termStart(text: string, cursor: number): number {
  let start = 0;
  let quoted = false;
  for (let i = 0; i < cursor; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (/\s/.test(c) || c === '(' || c === ')') start = i + 1;
  }
  return start;
}

function termEnd(text: string, cursor: number): number {
  let i = cursor;
  while (i < text.length && !/[\s()]/.test(text[i]!)) i++;
  return i;
}

export function completionContext(text: string, cursor: number): CompletionContext | null {
  let start = termStart(text, cursor);
  const end = termEnd(text, cursor);
  if (text[start] === '-') start++;
  const term = text.slice(start, cursor);
  const op = FIELD_OP.exec(term);
  if (op) {
    const valueStart = start + op[0].length;
    let prefix = text.slice(valueStart, cursor);
    if (prefix.startsWith('/')) return null; // a regex: nothing sensible to offer
    if (prefix.startsWith('"')) prefix = prefix.slice(1).replace(/\\(.)/g, '$1');
    return { kind: 'value', field: op[1]!, prefix, start: valueStart, end };
  }
  if (term === '' || FIELD_PREFIX.test(term)) return { kind: 'field', prefix: term, start, end };
  return null;
}

/** Field names that fit a prefix: those starting with it first (with or without "attrs."), then those containing it. */
export function rankFields(names: string[], prefix: string, max = 12): string[] {
  const p = prefix.toLowerCase();
  const short = (n: string) => (n.startsWith('attrs.') ? n.slice(6) : n).toLowerCase();
  const starts = names.filter((n) => n.toLowerCase().startsWith(p) || short(n).startsWith(p));
  const contains = names.filter((n) => !starts.includes(n) && n.toLowerCase().includes(p));
  return [...starts, ...contains].slice(0, max);
}

export function rankValues(values: string[], prefix: string, max = 12): string[] {
  const p = prefix.toLowerCase();
  const starts = values.filter((v) => v.toLowerCase().startsWith(p));
  const contains = values.filter((v) => !starts.includes(v) && v.toLowerCase().includes(p));
  return [...starts, ...contains].slice(0, max);
}

/** Values known without asking the server. */
export function staticValues(field: string): string[] | undefined {
  const f = field.toLowerCase();
  if (f === 'level' || f === 'severity' || f === 'lvl') return [...SEVERITIES];
  if (f === 'os') return ['linux', 'windows', 'macos', 'other'];
  if (f === 'type') return ['system', 'application', 'logger'];
  return undefined;
}

/** The text and cursor after picking a candidate. */
export function applyCompletion(text: string, ctx: CompletionContext, choice: string): { text: string; cursor: number } {
  const insert = ctx.kind === 'field' ? `${choice}:` : `${quoteValue(choice)} `;
  const after = text.slice(ctx.end);
  const next = text.slice(0, ctx.start) + insert + (ctx.kind === 'value' ? after.replace(/^\s+/, '') : after);
  return { text: next, cursor: ctx.start + insert.length };
}
