/**
 * Live tail: records matching the query as the server stores them, over the
 * WebSocket /api/v1/tail (docs/api.md). Newest at the bottom; the view
 * follows them while scrolled to the end. Pause holds new records back
 * (shown as a count) without closing the connection; the rate is records per
 * second over the last ten seconds. Memory is bounded: the newest KEEP
 * records stay.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { Pause, Play, Trash2 } from 'lucide-react';
import { apiGet, type RecordJson } from '../lib/api.ts';
import { webSocketProtocols } from '../lib/auth.ts';
import { addFilter, type FilterMode } from '../lib/query-build.ts';
import { DEFAULT_STATE, type AppState } from '../lib/url-state.ts';
import type { NavigateOptions } from '../hooks/useAppState.ts';
import { usePreferences } from '../hooks/usePreferences.tsx';
import { SearchBar } from '../components/SearchBar.tsx';
import { ResultsList } from '../components/ResultsList.tsx';
import { msToNs } from '../lib/time.ts';

const KEEP = 5000;
const RATE_WINDOW_MS = 10_000;

type Go = (next: AppState, options?: NavigateOptions) => void;
type Status = 'connecting' | 'live' | 'closed' | 'error';

interface TailMessage {
  records?: RecordJson[];
  dropped?: number;
}

function tailUrl(q: string): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/api/v1/tail?${new URLSearchParams({ q })}`;
}

export function LiveTail({ state, go }: { state: AppState; go: Go }) {
  const { zone } = usePreferences();
  const [records, setRecords] = useState<RecordJson[]>([]);
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState<RecordJson[]>([]);
  const [status, setStatus] = useState<Status>('connecting');
  const [closeReason, setCloseReason] = useState('');
  const [dropped, setDropped] = useState(0);
  const [rate, setRate] = useState(0);
  const [expanded, setExpanded] = useState('');
  const arrivals = useRef<{ at: number; n: number }[]>([]);
  /** Completion looks for fields and values in the last hour, fixed when the view opens. */
  const [completionRange] = useState(() => ({ from: msToNs(Date.now() - 3_600_000), to: msToNs(Date.now()) }));
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  const append = useCallback((incoming: RecordJson[]) => {
    setRecords((old) => {
      const next = old.concat(incoming);
      return next.length > KEEP ? next.slice(next.length - KEEP) : next;
    });
  }, []);

  useEffect(() => {
    let ws: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let stopped = false;
    const connect = () => {
      setStatus('connecting');
      ws = new WebSocket(tailUrl(state.q), webSocketProtocols());
      ws.onopen = () => {
        attempt = 0;
        setStatus('live');
        setCloseReason('');
      };
      ws.onmessage = (event) => {
        let msg: TailMessage;
        try {
          msg = JSON.parse(String(event.data)) as TailMessage;
        } catch {
          return;
        }
        if (msg.dropped) setDropped((d) => d + msg.dropped!);
        const batch = msg.records ?? [];
        if (batch.length === 0) return;
        arrivals.current.push({ at: Date.now(), n: batch.length });
        if (pausedRef.current) setHeld((h) => h.concat(batch).slice(-KEEP));
        else append(batch);
      };
      let opened = false;
      ws.addEventListener('open', () => (opened = true));
      ws.onclose = (event) => {
        if (stopped) return;
        setStatus('closed');
        setCloseReason(event.reason || `code ${event.code}`);
        // A refused upgrade says nothing to the page; the same query over HTTP says why (and a 401 opens the login form).
        if (!opened) {
          apiGet('/api/v1/query', { q: state.q, limit: 1, from: 'now-1s' }).then(
            () => setCloseReason('the connection failed'),
            (err: Error) => setCloseReason(err.message),
          );
        }
        // Reconnect with backoff: servers restart, proxies time out idle sockets.
        retry = setTimeout(connect, Math.min(30_000, 1000 * 2 ** attempt++));
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      ws?.close();
    };
  }, [state.q, append]);

  useEffect(() => {
    const timer = setInterval(() => {
      const since = Date.now() - RATE_WINDOW_MS;
      arrivals.current = arrivals.current.filter((a) => a.at >= since);
      setRate(arrivals.current.reduce((n, a) => n + a.n, 0) / (RATE_WINDOW_MS / 1000));
    }, 1000);
    return () => clearInterval(timer);
  }, []);

  const resume = () => {
    setPaused(false);
    append(held);
    setHeld([]);
  };

  const onFilter = useCallback(
    (field: string, value: string, mode: FilterMode) => go({ ...state, q: addFilter(state.q, field, value, mode) }),
    [go, state],
  );

  const shown = paused ? 'paused' : status;
  const exploreHref = () => {
    const first = records[0];
    go({ ...DEFAULT_STATE, q: state.q, from: first ? new Date(Date.parse(first.ts) - 1000).toISOString() : '', to: '' });
  };

  return (
    <>
      <div className="searchrow">
        <SearchBar value={state.q} onSubmit={(q) => go({ ...state, q })} range={completionRange} placeholder="Tail records matching… (empty: everything)" />
        {paused ? (
          <button className="btn primary" onClick={resume}>
            <Play size={15} /> Resume{held.length > 0 ? ` (${held.length} new)` : ''}
          </button>
        ) : (
          <button className="btn" onClick={() => setPaused(true)}>
            <Pause size={15} /> Pause
          </button>
        )}
        <button className="btn icon" title="Clear" aria-label="Clear" onClick={() => setRecords([])}>
          <Trash2 size={15} />
        </button>
      </div>
      <section className="panel results grow" aria-label="Live tail">
        <header>
          <span className="status" data-state={shown} role="status">
            <i /> {shown === 'live' ? 'Live' : shown === 'paused' ? 'Paused' : shown === 'connecting' ? 'Connecting…' : `Disconnected: ${closeReason}; retrying`}
          </span>
          <span className="muted" aria-label="Rate">
            {rate.toFixed(rate < 10 ? 1 : 0)} records/s
          </span>
          <span className="muted">{records.length.toLocaleString()} shown{records.length >= KEEP ? ` (the newest ${KEEP})` : ''}</span>
          {dropped > 0 && <span className="badge warn">{dropped.toLocaleString()} dropped by the server (too slow to keep up)</span>}
          <span className="grow" />
          <button className="btn small" onClick={exploreHref}>
            Open in Explore
          </button>
        </header>
        {records.length === 0 ? (
          <div className="empty">{status === 'live' ? 'Waiting for new records…' : 'Connecting…'}</div>
        ) : (
          <ResultsList records={records} zone={zone} expandedId={expanded} onExpand={setExpanded} onFilter={onFilter} follow={!paused} label="Live records" />
        )}
      </section>
    </>
  );
}
