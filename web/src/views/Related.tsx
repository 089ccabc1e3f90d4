/**
 * Related records: the same trace or correlation id on other hosts and
 * OSes, and the record's neighbours on its host, from GET /api/v1/related
 * ({record, related: [{record, reason, score}], stats}), grouped by reason
 * in the order of their best score.
 */
import { useCallback, useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { ApiError, apiGet, type RecordJson } from '../lib/api.ts';
import { addFilter, type FilterMode } from '../lib/query-build.ts';
import { DEFAULT_STATE, type AppState } from '../lib/url-state.ts';
import type { NavigateOptions } from '../hooks/useAppState.ts';
import { usePreferences } from '../hooks/usePreferences.tsx';
import { RecordDetail } from '../components/RecordDetail.tsx';
import { ResultsList } from '../components/ResultsList.tsx';

type Go = (next: AppState, options?: NavigateOptions) => void;

export interface RelatedResponse {
  record: RecordJson;
  related: { record: RecordJson; reason: string; score: number }[];
  stats?: { host_window_s?: number };
}

export function Related({ state, go }: { state: AppState; go: Go }) {
  const { zone } = usePreferences();
  const [expanded, setExpanded] = useState('');
  const related = useQuery({
    queryKey: ['related', state.id, state.window],
    queryFn: ({ signal }) => apiGet<RelatedResponse>('/api/v1/related', { id: state.id, window: state.window || undefined }, signal),
    enabled: !!state.id,
  });

  const groups = useMemo(() => {
    const byReason = new Map<string, RecordJson[]>();
    for (const r of related.data?.related ?? []) {
      const list = byReason.get(r.reason) ?? [];
      list.push(r.record);
      byReason.set(r.reason, list);
    }
    for (const list of byReason.values()) list.sort((a, b) => (a.ts_ns < b.ts_ns ? -1 : 1));
    return [...byReason];
  }, [related.data]);

  const all = related.data ? [related.data.record, ...related.data.related.map((r) => r.record)] : [];
  const hosts = [...new Set(all.map((r) => r.host).filter(Boolean))];
  const oses = [...new Set(all.map((r) => r.os).filter(Boolean))];

  // Filtering from here searches in Explore around the record's time.
  const onFilter = useCallback(
    (field: string, value: string, mode: FilterMode) => {
      const at = related.data ? Date.parse(related.data.record.ts) : Date.now();
      go({ ...DEFAULT_STATE, q: addFilter('', field, value, mode), from: new Date(at - 3_600_000).toISOString(), to: new Date(at + 3_600_000).toISOString() });
    },
    [go, related.data],
  );

  if (!state.id) return <div className="empty">Open a record in Explore and choose "Related records".</div>;
  if (related.isPending) return <div className="empty">Loading…</div>;
  if (related.error) {
    const e = related.error;
    return <div className="panel body error" role="alert">{e instanceof ApiError && e.status === 404 ? `No related records: ${e.message}` : e.message}</div>;
  }
  const d = related.data;
  return (
    <>
      <section className="panel" aria-label="Record">
        <header>
          Record
          <span className="grow" />
          <label className="muted">
            Neighbours within{' '}
            <select value={state.window || ''} onChange={(e) => go({ ...state, window: Number(e.target.value) }, { replace: true })} aria-label="Neighbour window">
              <option value="">default{related.data?.stats?.host_window_s ? ` (±${related.data.stats.host_window_s}s)` : ''}</option>
              {[5, 30, 60, 300, 900].map((s) => (
                <option key={s} value={s}>
                  ±{s}s
                </option>
              ))}
            </select>
          </label>
        </header>
        <RecordDetail record={d.record} zone={zone} onFilter={onFilter} compact />
      </section>
      <section className="panel body" aria-label="Hosts and systems">
        <div className="row wrap">
          <strong>{d.related.length} related</strong>
          <span className="muted">across hosts</span>
          <span className="chips">
            {hosts.map((h) => (
              <span className="chip" key={h}>
                {h}
              </span>
            ))}
          </span>
          <span className="muted">and systems</span>
          <span className="chips">
            {oses.map((o) => (
              <span className="chip" key={o}>
                {o}
              </span>
            ))}
          </span>
        </div>
      </section>
      {groups.length === 0 && <div className="empty">Nothing related found.</div>}
      {groups.map(([reason, records]) => (
        <section className="panel results" key={reason} aria-label={reason} style={{ minHeight: Math.min(400, 60 + records.length * 27) }}>
          <header>
            {reason} <span className="muted">{records.length}</span>
          </header>
          <ResultsList records={records} zone={zone} expandedId={expanded} onExpand={setExpanded} onFilter={onFilter} label={reason} />
        </section>
      ))}
    </>
  );
}
