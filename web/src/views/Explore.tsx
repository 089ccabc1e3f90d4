/**
 * Explore: search, the histogram of matches by severity (drag to zoom), the
 * fields of the matches, and the records, newest first, loaded page by page
 * as the list scrolls. Relative ranges are resolved once per search (and on
 * refresh), so the histogram, the list and every page cover the same range.
 */
import { useCallback, useMemo, useState } from 'react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { ListFilter, RefreshCw, ZoomOut } from 'lucide-react';
import { ApiError, apiGet, type QueryResponse, type RecordJson, type StatsResponse } from '../lib/api.ts';
import { addFilter, type FilterMode } from '../lib/query-build.ts';
import { isRelative, msToNs, resolveRange } from '../lib/time.ts';
import type { AppState } from '../lib/url-state.ts';
import type { NavigateOptions } from '../hooks/useAppState.ts';
import { usePreferences } from '../hooks/usePreferences.tsx';
import { useSearchNow } from '../hooks/useSearchNow.ts';
import { SearchBar } from '../components/SearchBar.tsx';
import { TimeRangePicker } from '../components/TimeRangePicker.tsx';
import { Histogram, SeverityLegend } from '../components/Histogram.tsx';
import { ResultsList } from '../components/ResultsList.tsx';
import { RecordDetail } from '../components/RecordDetail.tsx';
import { FieldSidebar } from '../components/FieldSidebar.tsx';
import { ErrorText } from '../components/ErrorText.tsx';

const PAGE = 500;
/** Records kept loaded at most; past this the list asks for a narrower range. */
const MAX_LOADED = 50_000;

type Go = (next: AppState, options?: NavigateOptions) => void;

export function Explore({ state, go }: { state: AppState; go: Go }) {
  const { zone } = usePreferences();
  const [fieldsOpen, setFieldsOpen] = useState(false);
  const [nowMs, refreshNow] = useSearchNow(`${state.q}\n${state.from}\n${state.to}`);
  const range = resolveRange(state.from, state.to, nowMs);
  const params = useMemo(() => ({ q: state.q, from: msToNs(range.fromMs), to: msToNs(range.toMs) }), [state.q, range.fromMs, range.toMs]);

  const stats = useQuery({
    queryKey: ['stats', params],
    queryFn: ({ signal }) => apiGet<StatsResponse>('/api/v1/stats', { ...params, by: 'severity', limit: 8 }, signal),
  });
  const results = useInfiniteQuery({
    queryKey: ['query', params],
    initialPageParam: params.to,
    queryFn: ({ pageParam, signal }) => apiGet<QueryResponse>('/api/v1/query', { ...params, to: pageParam, limit: PAGE }, signal),
    // The next page ends at the last record's time (bounds are inclusive; repeats are dropped below).
    getNextPageParam: (last, _pages, lastParam) => {
      if (last.records.length < PAGE) return undefined;
      const ts = last.records.at(-1)!.ts_ns;
      return ts === lastParam ? (BigInt(ts) - 1n).toString() : ts;
    },
  });

  const records = useMemo(() => {
    const seen = new Set<string>();
    const out: RecordJson[] = [];
    for (const page of results.data?.pages ?? []) {
      for (const r of page.records) {
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        out.push(r);
      }
    }
    return out;
  }, [results.data]);

  const total = stats.data?.buckets.reduce((n, b) => n + b.count, 0);
  const levels = useMemo(() => {
    if (!stats.data) return null;
    const byLevel = new Map<string, number>();
    for (const b of stats.data.buckets) for (const [level, n] of Object.entries(b.groups ?? {})) byLevel.set(level, (byLevel.get(level) ?? 0) + n);
    return [...byLevel].filter(([, n]) => n > 0).map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count);
  }, [stats.data]);
  const canLoadMore = results.hasNextPage && !results.isFetchingNextPage && records.length < MAX_LOADED;
  const { fetchNextPage } = results;
  const loadMore = useCallback(() => {
    if (canLoadMore) void fetchNextPage();
  }, [canLoadMore, fetchNextPage]);

  const linkedMissing = !!state.sel && results.isSuccess && !records.some((r) => r.id === state.sel);
  const linked = useQuery({
    queryKey: ['record', state.sel],
    queryFn: ({ signal }) => apiGet<QueryResponse>('/api/v1/query', { q: `id:${state.sel}`, limit: 1 }, signal),
    enabled: linkedMissing,
  });

  const error = (stats.error ?? results.error) as Error | null;
  const parseError = error instanceof ApiError && error.status === 400 ? error.message : null;

  const onFilter = useCallback(
    (field: string, value: string, mode: FilterMode) => go({ ...state, q: addFilter(state.q, field, value, mode), sel: '' }),
    [go, state],
  );
  const onExpand = useCallback((id: string) => go({ ...state, sel: id }, { replace: true }), [go, state]);

  const zoomOut = () => {
    const span = range.toMs - range.fromMs;
    if (isRelative(state.from) && isRelative(state.to)) {
      go({ ...state, from: `now-${Math.max(1, Math.round((2 * span) / 60_000))}m`, to: '', sel: '' });
    } else {
      const to = Math.min(Date.now(), range.toMs + span / 2);
      go({ ...state, from: new Date(to - 2 * span).toISOString(), to: new Date(to).toISOString(), sel: '' });
    }
  };

  const footer =
    records.length === 0 ? null : (
      <div className="list-end">
        {results.isFetchingNextPage
          ? 'Loading more…'
          : results.hasNextPage
            ? records.length >= MAX_LOADED
              ? `The first ${MAX_LOADED.toLocaleString()} records are loaded; narrow the range or the query to see further.`
              : 'Scroll for more'
            : `End of results (${records.length.toLocaleString()})`}
      </div>
    );

  return (
    <>
      <div className="searchrow">
        <SearchBar value={state.q} onSubmit={(q) => go({ ...state, q, sel: '' })} range={{ from: params.from, to: params.to }} error={parseError} />
        <TimeRangePicker from={state.from} to={state.to} zone={zone} onChange={(from, to) => go({ ...state, from, to, sel: '' })} />
        <button
          className="btn icon"
          title="Run again (relative ranges move to now)"
          aria-label="Refresh"
          onClick={() => {
            // A relative range moves to now (new queries); an absolute one is asked again.
            if (isRelative(state.from) || isRelative(state.to)) refreshNow();
            else {
              void stats.refetch();
              void results.refetch();
            }
          }}
        >
          <RefreshCw size={15} />
        </button>
      </div>
      {range.error && <div className="error">Time range: {range.error}; showing the last hour.</div>}
      {!parseError && <ErrorText error={error} />}
      <section className="panel" aria-label="Matches over time">
        <header>
          <span>
            {total === undefined ? '…' : `${total.toLocaleString()} record${total === 1 ? '' : 's'}`}
          </span>
          {stats.data && <span className="muted">{stats.data.stats.took_ms} ms</span>}
          <span className="grow" />
          <SeverityLegend />
          <button className="btn small" onClick={zoomOut} title="Zoom out (twice the range)">
            <ZoomOut size={13} /> Zoom out
          </button>
        </header>
        <div className="body">
          <Histogram
            buckets={stats.data?.buckets ?? []}
            stepMs={stats.data?.step_ms ?? 60_000}
            fromMs={range.fromMs}
            toMs={range.toMs}
            zone={zone}
            label="Matches over time by severity; drag to zoom"
            onZoom={(a, b) => go({ ...state, from: new Date(a).toISOString(), to: new Date(b).toISOString(), sel: '' })}
          />
        </div>
      </section>
      {linkedMissing && linked.data?.records[0] && (
        <section className="panel" aria-label="Linked record">
          <header>Linked record (outside the loaded results)</header>
          <RecordDetail record={linked.data.records[0]} zone={zone} onFilter={onFilter} />
        </section>
      )}
      <div className="explore">
        <aside className="panel sidebar" data-open={fieldsOpen}>
          <FieldSidebar params={params} total={total} levels={levels} onFilter={onFilter} />
        </aside>
        <section className="panel results" aria-label="Results">
          <header>
            <button className="btn small only-narrow" aria-pressed={fieldsOpen} onClick={() => setFieldsOpen((o) => !o)}>
              <ListFilter size={13} /> Fields
            </button>
            <span className="muted">
              {results.isPending ? 'Searching…' : `${records.length.toLocaleString()} loaded${results.data ? ` · ${results.data.pages[0]!.stats.took_ms} ms` : ''}`}
            </span>
          </header>
          {results.isSuccess && records.length === 0 ? (
            <div className="empty">No records match in this range.</div>
          ) : (
            <ResultsList
              records={records}
              zone={zone}
              expandedId={state.sel}
              onExpand={onExpand}
              onFilter={onFilter}
              onEndReached={loadMore}
              footer={footer}
              label="Matching records"
            />
          )}
        </section>
      </div>
    </>
  );
}
