/**
 * The fields of the matching records, the most common first, each opening to
 * its top values with counts; a value clicks to filter in, its minus to
 * filter out.
 */
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { ChevronDown, ChevronRight, Minus } from 'lucide-react';
import { apiGet, type FieldsResponse, type FieldValuesResponse } from '../lib/api.ts';
import { displayLine } from '../lib/ansi.ts';
import { isQueryableField } from '../lib/query-build.ts';
import type { OnFilter } from './RecordDetail.tsx';
import { ErrorText } from './ErrorText.tsx';

type Counts = { value: string; count: number }[];

interface Props {
  params: { q: string; from: string; to: string };
  total: number | undefined;
  /** Records per level from the caller (the histogram has them: one query fewer); null while it is still loading them. */
  levels: Counts | null;
  onFilter: OnFilter;
}

/** Fields that open by default: what people filter on first. */
const OPEN = ['level', 'host', 'service'];
/** Core fields listed; message is searched, not counted. */
const HIDDEN = new Set(['message', 'span_id']);

export function FieldSidebar({ params, total, levels, onFilter }: Props) {
  const fields = useQuery({
    queryKey: ['fields', params],
    queryFn: ({ signal }) => apiGet<FieldsResponse>('/api/v1/fields', { ...params, sample: 500 }, signal),
  });
  const [open, setOpen] = useState<Set<string>>(() => new Set(OPEN));
  const list = (fields.data?.fields ?? []).filter((f) => !HIDDEN.has(f.name) && isQueryableField(f.name));
  const toggle = (name: string) =>
    setOpen((s) => {
      const next = new Set(s);
      if (next.has(name)) next.delete(name);
      else next.add(name);
      return next;
    });

  return (
    <div aria-label="Fields">
      <ErrorText error={fields.error} className="body error" />
      {list.map((f) => {
        const isOpen = open.has(f.name);
        const share = f.count !== undefined && fields.data!.sampled > 0 ? Math.round((100 * f.count) / fields.data!.sampled) : undefined;
        return (
          <div className="field" key={f.name}>
            <button onClick={() => toggle(f.name)} aria-expanded={isOpen}>
              {isOpen ? <ChevronDown size={13} /> : <ChevronRight size={13} />}
              {f.name}
              {share !== undefined && (
                <span className="pct" title={`in ${f.count} of the newest ${fields.data!.sampled} records`}>
                  {share}%
                </span>
              )}
            </button>
            {isOpen && <TopValues field={f.name} params={params} total={total} known={f.name === 'level' ? levels : undefined} onFilter={onFilter} />}
          </div>
        );
      })}
    </div>
  );
}

interface TopValuesProps {
  field: string;
  params: Props['params'];
  total: number | undefined;
  /** Values counted elsewhere (null: not yet); undefined: ask the server. */
  known: Counts | null | undefined;
  onFilter: OnFilter;
}

function TopValues({ field, params, total, known, onFilter }: TopValuesProps) {
  const values = useQuery({
    queryKey: ['top', field, params],
    queryFn: ({ signal }) => apiGet<FieldValuesResponse>(`/api/v1/fields/${encodeURIComponent(field)}/values`, { ...params, limit: 8 }, signal),
    enabled: known === undefined,
  });
  if (known === null || (known === undefined && values.isPending)) return <div className="values muted">…</div>;
  if (values.error) return <ErrorText error={values.error} className="values error" />;
  const rows = known ?? values.data!.values;
  if (rows.length === 0) return <div className="values muted">no values</div>;
  const max = total && total > 0 ? total : Math.max(...rows.map((r) => r.count));
  return (
    <ul className="values" aria-label={`Top values of ${field}`}>
      {rows.map((v) => (
        <li key={v.value}>
          <button className="value" title={`${field}:${v.value} — click to filter`} onClick={() => onFilter(field, v.value, 'in')} data-field={field} data-value={v.value}>
            {v.value === '' ? <span className="muted">(empty)</span> : displayLine(v.value)}
            <span className="bar" style={{ width: `${Math.min(100, (100 * v.count) / max)}%` }} />
          </button>
          <span className="count">{v.count.toLocaleString()}</span>
          <button className="btn small" aria-label={`Filter out ${field} ${v.value}`} title="Leave these out" onClick={() => onFilter(field, v.value, 'out')}>
            <Minus size={11} />
          </button>
        </li>
      ))}
    </ul>
  );
}
