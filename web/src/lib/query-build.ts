/**
 * Building search text from clicks (docs/query-language.md): a value clicked
 * "in" or "out" becomes a `field:value` / `-field:value` term appended to
 * the query, quoted so that any value means exactly itself.
 */

/** Values that may stand bare: no quote, space, glob, regex, paren or leading "-". */
const BARE_VALUE = /^[A-Za-z0-9_.@][A-Za-z0-9_.@:+-]*$/;
/** Field names the search syntax can address (src/query/search.ts FIELD_TERM). */
const FIELD_NAME = /^[A-Za-z_@][A-Za-z0-9_.@]*$/;
const KEYWORDS = new Set(['OR', 'AND', 'NOT']);

export function quoteValue(value: string): string {
  if (BARE_VALUE.test(value) && !KEYWORDS.has(value)) return value;
  return `"${escapeQuoted(value)}"`;
}

function escapeQuoted(value: string): string {
  return value.replace(/[\\"]/g, (c) => `\\${c}`);
}

/** Whether `name` can be written as a field in the search syntax (attrs keys can hold anything). */
export function isQueryableField(name: string): boolean {
  return FIELD_NAME.test(name) && !name.endsWith('.') && !name.includes('..');
}

export type FilterMode = 'in' | 'out';

/**
 * The term for "field is value": message values become phrases (message
 * matching is a substring search), everything else `field:value`.
 */
export function filterTerm(field: string, value: string, mode: FilterMode): string {
  const sign = mode === 'out' ? '-' : '';
  if (field === 'message' || field === 'msg') return `${sign}"${escapeQuoted(value)}"`;
  return `${sign}${field}:${quoteValue(value)}`;
}

/** The index of the quote that closes the "phrase" or :/regex/ opened at `i` (backslash escapes skipped), or q.length. */
function closingQuote(q: string, i: number): number {
  const quote = q[i];
  i++;
  while (i < q.length && q[i] !== quote) i += q[i] === '\\' ? 2 : 1;
  return i;
}

/** True when the text has an OR outside quotes, regexes and parentheses: appending a term would bind to its last branch. */
export function hasTopLevelOr(q: string): boolean {
  let depth = 0;
  for (let i = 0; i < q.length; i++) {
    const c = q[i]!;
    if (c === '"' || (c === '/' && q[i - 1] === ':')) i = closingQuote(q, i);
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && q.startsWith('OR', i) && /\s/.test(q[i - 1] ?? ' ') && /\s/.test(q[i + 2] ?? ' ')) return true;
  }
  return false;
}

/**
 * Adds "field is (not) value" to a query. Clicking the opposite of a term
 * already there replaces it; clicking the same term again changes nothing.
 */
export function addFilter(q: string, field: string, value: string, mode: FilterMode): string {
  const term = filterTerm(field, value, mode);
  const opposite = filterTerm(field, value, mode === 'in' ? 'out' : 'in');
  const parts = splitTopLevel(q);
  if (parts.includes(term)) return q;
  const i = parts.indexOf(opposite);
  if (i >= 0) {
    parts[i] = term;
    return parts.join(' ');
  }
  return andTerm(q, term);
}

/** The query and a term that must also hold; a top-level OR is wrapped so the term applies to all of it. */
export function andTerm(q: string, term: string): string {
  const base = q.trim();
  if (base === '') return term;
  return hasTopLevelOr(base) ? `(${base}) ${term}` : `${base} ${term}`;
}

/** The query's whitespace-separated terms, keeping quoted strings, regexes and parentheses whole. */
export function splitTopLevel(q: string): string[] {
  const out: string[] = [];
  let start = -1;
  let depth = 0;
  for (let i = 0; i <= q.length; i++) {
    const c = q[i];
    if (c === undefined || (depth === 0 && /\s/.test(c))) {
      if (start >= 0) out.push(q.slice(start, i));
      start = -1;
      continue;
    }
    if (start < 0) start = i;
    if (c === '"' || (c === '/' && q[i - 1] === ':')) i = closingQuote(q, i);
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
  }
  return out;
}

/** A query for a template and the ids merged into it (the patterns API lists them). */
export function templateQuery(templateId: string, mergedIds: string[] = []): string {
  const ids = [templateId, ...mergedIds];
  return ids.length === 1 ? `template_id:${quoteValue(templateId)}` : `(${ids.map((id) => `template_id:${quoteValue(id)}`).join(' OR ')})`;
}
