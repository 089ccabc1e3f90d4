/**
 * The search box: the query in the search syntax, completion of field names
 * and values as you type, a syntax cheat sheet, and the server's parse error
 * when there is one. "/" focuses it from anywhere; Enter runs the query.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { CircleHelp, Search } from 'lucide-react';
import { apiGet, type FieldsResponse, type FieldValuesResponse } from '../lib/api.ts';
import { applyCompletion, completionContext, rankFields, rankValues, staticValues } from '../lib/completion.ts';
import { isQueryableField } from '../lib/query-build.ts';

interface Props {
  value: string;
  onSubmit(q: string): void;
  /** The range (API bounds) completion looks for fields and values in. */
  range: { from: string; to: string };
  error?: string | null;
  placeholder?: string;
}

const SYNTAX: [string, string][] = [
  ['timeout', 'the message contains "timeout" (any case)'],
  ['"connection reset"', 'the message contains the phrase'],
  ['host:web-1', 'a field equals a value (host, service, unit, os, type, trace_id, …)'],
  ['host:web-*', 'glob: * any run, ? one character'],
  ['host:/web-\\d+/', 'regular expression'],
  ['level>=warning', 'warning or worse (emerg alert crit err warning notice info debug)'],
  ['status:500 attrs.user.id:42', 'attributes (attrs.a.b reaches into nested ones)'],
  ['status>=500', 'numeric comparison'],
  ['attrs.region:*', 'the field is present'],
  ['-debug  NOT unit:cron', 'negation'],
  ['a OR b  (a OR b) c', 'either; AND (or a space) binds tighter than OR'],
];

export function SearchBar({ value, onSubmit, range, error, placeholder }: Props) {
  const [text, setText] = useState(value);
  const [caret, setCaret] = useState(value.length);
  const [open, setOpen] = useState(false);
  /** The highlighted completion; -1 until arrows move into the list, so Enter still runs the query. */
  const [active, setActive] = useState(-1);
  const [help, setHelp] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const listId = useId();

  useEffect(() => setText(value), [value]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key !== '/' || e.ctrlKey || e.metaKey || t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable) return;
      e.preventDefault();
      input.current?.focus();
      input.current?.select();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const ctx = open ? completionContext(text, caret) : null;
  const fields = useQuery({
    queryKey: ['fields', range.from, range.to],
    queryFn: ({ signal }) => apiGet<FieldsResponse>('/api/v1/fields', { ...range, sample: 500 }, signal),
    enabled: ctx?.kind === 'field',
    staleTime: 60_000,
  });
  const valueField = ctx?.kind === 'value' ? ctx.field : '';
  const known = valueField ? staticValues(valueField) : undefined;
  const values = useQuery({
    queryKey: ['values', valueField, range.from, range.to],
    queryFn: ({ signal }) => apiGet<FieldValuesResponse>(`/api/v1/fields/${encodeURIComponent(valueField)}/values`, { ...range, limit: 100 }, signal),
    enabled: !!valueField && !known && isQueryableField(valueField),
    staleTime: 60_000,
  });

  let candidates: { label: string; detail?: string }[] = [];
  if (ctx?.kind === 'field' && ctx.prefix !== '') {
    const counts = new Map((fields.data?.fields ?? []).map((f) => [f.name, f.count]));
    candidates = rankFields([...counts.keys()], ctx.prefix).map((name) => ({ label: name, detail: counts.get(name) ? `${counts.get(name)} of ${fields.data!.sampled}` : undefined }));
  } else if (ctx?.kind === 'value') {
    const all = known ?? (values.data?.values ?? []).map((v) => v.value).filter((v) => v !== '');
    const counts = new Map((values.data?.values ?? []).map((v) => [v.value, v.count]));
    candidates = rankValues(all, ctx.prefix).map((v) => ({ label: v, detail: counts.get(v)?.toLocaleString() }));
  }
  const showList = candidates.length > 0 && !(candidates.length === 1 && ctx?.prefix === candidates[0]!.label);

  const pick = (label: string) => {
    if (!ctx) return;
    const next = applyCompletion(text, ctx, label);
    setText(next.text);
    setCaret(next.cursor);
    setActive(-1);
    requestAnimationFrame(() => input.current?.setSelectionRange(next.cursor, next.cursor));
  };

  const submit = () => {
    setOpen(false);
    onSubmit(text.trim());
  };

  return (
    <div className="search">
      <Search className="lead" size={16} aria-hidden="true" />
      <input
        ref={input}
        type="search"
        role="combobox"
        aria-label="Search query"
        aria-expanded={showList}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-invalid={!!error}
        spellCheck={false}
        autoComplete="off"
        placeholder={placeholder ?? 'Search: words, "phrases", field:value, level>=warning … (press / to focus)'}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setCaret(e.target.selectionStart ?? e.target.value.length);
          setOpen(true);
          setActive(-1);
        }}
        onSelect={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (showList && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
            e.preventDefault();
            const n = candidates.length;
            setActive((a) => (e.key === 'ArrowDown' ? (a + 1) % n : a <= 0 ? n - 1 : a - 1));
          } else if (showList && (e.key === 'Tab' || (e.key === 'Enter' && active >= 0 && open))) {
            e.preventDefault();
            pick(candidates[Math.max(0, active)]!.label);
          } else if (e.key === 'Enter') {
            e.preventDefault();
            submit();
          } else if (e.key === 'Escape') {
            if (open) setOpen(false);
            else input.current?.blur();
          }
        }}
      />
      <button className="btn icon help-toggle" type="button" title="Search syntax" aria-label="Search syntax" aria-pressed={help} onClick={() => setHelp((h) => !h)}>
        <CircleHelp size={15} />
      </button>
      {showList && (
        <ul className="popup completions" id={listId} role="listbox" aria-label="Completions">
          {candidates.map((c, i) => (
            <li
              key={c.label}
              role="option"
              aria-selected={i === active}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(c.label);
              }}
            >
              <span>{c.label}</span>
              {c.detail && <span className="muted">{c.detail}</span>}
            </li>
          ))}
        </ul>
      )}
      {help && (
        <div className="popup syntax" role="dialog" aria-label="Search syntax">
          <table>
            <tbody>
              {SYNTAX.map(([example, meaning]) => (
                <tr key={example}>
                  <td>{example}</td>
                  <td>{meaning}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted">
            Keys: <code>/</code> search, <code>j</code>/<code>k</code> move, <code>Enter</code> expand, <code>Esc</code> close. Tab or Enter picks a completion.
          </p>
        </div>
      )}
      {error && (
        <div className="hint error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}
