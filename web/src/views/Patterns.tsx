/**
 * Patterns: the message templates of the matching records (GET
 * /api/v1/patterns) with their counts, a sparkline over the range (GET
 * /api/v1/stats by template_id) and a mark on templates first seen inside
 * the range; a click drills into a template's records in Explore. Below, the
 * anomalies (Anomalies.tsx).
 */
import { useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { ApiError, apiGet, type PatternsResponse, type StatsResponse } from '../lib/api.ts';
import { displayLine } from '../lib/ansi.ts';
import { andTerm, templateQuery } from '../lib/query-build.ts';
import { formatTs, msToNs, resolveRange } from '../lib/time.ts';
import { DEFAULT_STATE, type AppState } from '../lib/url-state.ts';
import type { NavigateOptions } from '../hooks/useAppState.ts';
import { usePreferences } from '../hooks/usePreferences.tsx';
import { useSearchNow } from '../hooks/useSearchNow.ts';
import { SearchBar } from '../components/SearchBar.tsx';
import { TimeRangePicker } from '../components/TimeRangePicker.tsx';
import { Sparkline } from '../components/Sparkline.tsx';
import { Anomalies } from './Anomalies.tsx';
import { ErrorText } from '../components/ErrorText.tsx';

type Go = (next: AppState, options?: NavigateOptions) => void;

/** Sparklines are drawn for this many of the most frequent templates (one stats query). */
const SPARKLINES = 200;

/** A template with its variable parts (<*>, <NUM>, …) set apart. */
function TemplateText({ text }: { text: string }) {
  const parts = displayLine(text).split(/(<[A-Z*_]*>)/g);
  return (
    <span className="template">
      {parts.map((p, i) => (i % 2 === 1 ? <span key={i} className="var">{p}</span> : p))}
    </span>
  );
}

export function Patterns({ state, go }: { state: AppState; go: Go }) {
  const { zone } = usePreferences();
  const [nowMs] = useSearchNow(`${state.q}\n${state.from}\n${state.to}`);
  const range = resolveRange(state.from, state.to, nowMs);
  const params = useMemo(() => ({ q: state.q, from: msToNs(range.fromMs), to: msToNs(range.toMs) }), [state.q, range.fromMs, range.toMs]);

  const patterns = useQuery({
    queryKey: ['patterns', params],
    queryFn: ({ signal }) => apiGet<PatternsResponse>('/api/v1/patterns', { ...params, limit: 500 }, signal),
  });
  const series = useQuery({
    queryKey: ['stats', 'template_id', params],
    queryFn: ({ signal }) => apiGet<StatsResponse>('/api/v1/stats', { ...params, by: 'template_id', limit: SPARKLINES }, signal),
  });

  const counts = (ids: string[]) => (series.data?.buckets ?? []).map((b) => ids.reduce((n, id) => n + (b.groups?.[id] ?? 0), 0));
  const isNew = (firstSeen: string | null) => firstSeen !== null && Date.parse(firstSeen) >= range.fromMs;
  const drill = (id: string, merged: string[]) => go({ ...DEFAULT_STATE, q: andTerm(state.q, templateQuery(id, merged)), from: state.from, to: state.to });

  const disabled = patterns.error instanceof ApiError && patterns.error.code === 'templates_disabled';

  return (
    <>
      <div className="searchrow">
        <SearchBar value={state.q} onSubmit={(q) => go({ ...state, q })} range={{ from: params.from, to: params.to }} placeholder="Patterns of records matching… (empty: everything)" />
        <TimeRangePicker from={state.from} to={state.to} zone={zone} onChange={(from, to) => go({ ...state, from, to })} />
      </div>
      <section className="panel" aria-label="Patterns">
        <header>
          Patterns
          {patterns.data && <span className="muted">{patterns.data.patterns.length} templates</span>}
        </header>
        {patterns.isPending && <div className="empty">Loading…</div>}
        {disabled ? <div className="body error">Template mining is off on this server (pipeline.templates.enabled).</div> : <ErrorText error={patterns.error} className="body error" />}
        {patterns.data && patterns.data.patterns.length === 0 && <div className="empty">No templates for these records in this range.</div>}
        {patterns.data && patterns.data.patterns.length > 0 && (
          <div className="table-scroll">
            <table className="data">
              <thead>
                <tr>
                  <th className="num">Count</th>
                  <th>Over the range</th>
                  <th>Template</th>
                  <th>First seen</th>
                  <th>Last seen</th>
                </tr>
              </thead>
              <tbody>
                {patterns.data.patterns.map((p) => (
                  <tr
                    key={p.template_id}
                    className="clickable"
                    tabIndex={0}
                    data-template-id={p.template_id}
                    onClick={() => drill(p.template_id, p.merged_ids)}
                    onKeyDown={(e) => e.key === 'Enter' && drill(p.template_id, p.merged_ids)}
                    title={p.example ? `Example: ${displayLine(p.example)}` : undefined}
                  >
                    <td className="num">{p.count.toLocaleString()}</td>
                    <td>
                      <Sparkline values={counts([p.template_id, ...p.merged_ids])} label={`${p.template_id} over time`} />
                    </td>
                    <td>
                      {isNew(p.first_seen) && <span className="badge new">new</span>} {p.template === null ? <span className="muted">{p.template_id} (template not known any more)</span> : <TemplateText text={p.template} />}
                    </td>
                    <td className="num muted">{p.first_seen ? formatTs(p.first_seen, zone).slice(0, 19) : ''}</td>
                    <td className="num muted">{p.last_seen ? formatTs(p.last_seen, zone).slice(0, 19) : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <Anomalies params={params} />
    </>
  );
}
