/**
 * System: ingest rate per source (GET /api/v1/system), records stored over
 * the last hour (GET /api/v1/stats), the agents connected (GET
 * /api/v1/agents), storage per day and the recent ingest errors. Refreshes
 * every five seconds.
 */
import { useQuery } from '@tanstack/react-query';
import { ApiError, apiGet, type AgentJson, type StatsResponse, type SystemResponse } from '../lib/api.ts';
import { displayLine } from '../lib/ansi.ts';
import { ago, formatDuration, msToNs } from '../lib/time.ts';
import { DEFAULT_STATE } from '../lib/url-state.ts';
import { navigate } from '../hooks/useAppState.ts';
import { usePreferences } from '../hooks/usePreferences.tsx';
import { Histogram, SeverityLegend } from '../components/Histogram.tsx';
import { ErrorText } from '../components/ErrorText.tsx';

const REFRESH_MS = 5000;

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : n < 10 ? 1 : 0)} ${units[i]}`;
}

const rate = (n: number | null) => (n === null ? '—' : n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString());

export function System() {
  const { zone } = usePreferences();
  const system = useQuery({
    queryKey: ['system'],
    queryFn: ({ signal }) => apiGet<SystemResponse>('/api/v1/system', {}, signal),
    refetchInterval: REFRESH_MS,
  });
  const agents = useQuery({
    queryKey: ['agents'],
    queryFn: ({ signal }) => apiGet<{ agents: AgentJson[] }>('/api/v1/agents', {}, signal),
    refetchInterval: REFRESH_MS,
    retry: false,
  });
  const hourMs = { to: Date.now(), from: Date.now() - 3_600_000 };
  const stored = useQuery({
    queryKey: ['stats', 'system-hour'],
    queryFn: ({ signal }) => apiGet<StatsResponse>('/api/v1/stats', { from: msToNs(hourMs.from), to: msToNs(hourMs.to), step: '1m', by: 'severity', limit: 8 }, signal),
    refetchInterval: REFRESH_MS * 6,
  });

  const s = system.data;
  const now = s ? Date.parse(s.time) : Date.now();
  const maxDay = Math.max(1, ...(s?.storage.days.map((d) => d.bytes) ?? []));
  const totalRate = s?.ingest.reduce((n, r) => n + (r.records_per_s ?? 0), 0);
  const agentsMissing = agents.error instanceof ApiError && agents.error.status === 404;

  return (
    <>
      <ErrorText error={system.error} />
      <div className="cards">
        <div className="panel card">
          <div className="muted">Ingest rate</div>
          <div className="big" aria-label="Total ingest rate">{totalRate === undefined ? '…' : `${rate(totalRate)}/s`}</div>
          <div className="muted">over the last {s ? formatDuration(Math.round(s.window_s) * 1000) : '…'}</div>
        </div>
        <div className="panel card">
          <div className="muted">Stored</div>
          <div className="big">{s ? s.storage.rows.toLocaleString() : '…'}</div>
          <div className="muted">records, {s ? bytes(s.storage.bytes) : '…'} compacted</div>
        </div>
        <div className="panel card">
          <div className="muted">Queue</div>
          <div className="big">{s ? s.queue.records.toLocaleString() : '…'}</div>
          <div className="muted">records waiting, {s ? bytes(s.queue.bytes) : '…'}</div>
        </div>
        <div className="panel card">
          <div className="muted">Agents</div>
          <div className="big">{agents.data ? agents.data.agents.length : agentsMissing ? '—' : '…'}</div>
          <div className="muted">tenant {s?.tenant ?? '…'} · up {s ? formatDuration(s.uptime_s * 1000) : '…'}</div>
        </div>
      </div>

      <section className="panel" aria-label="Records stored in the last hour">
        <header>
          Records stored, last hour <span className="grow" /> <SeverityLegend />
        </header>
        <div className="body">
          <Histogram
            buckets={stored.data?.buckets ?? []}
            stepMs={stored.data?.step_ms ?? 60_000}
            fromMs={stored.data ? Date.parse(stored.data.from) : hourMs.from}
            toMs={stored.data ? Date.parse(stored.data.to) : hourMs.to} zone={zone} height={90} label="Records stored per minute over the last hour" />
        </div>
      </section>

      <div className="grid2">
        <section className="panel" aria-label="Ingest by source">
          <header>Ingest by source</header>
          {s && s.ingest.length === 0 && <div className="empty">Nothing received since the server started.</div>}
          {s && s.ingest.length > 0 && (
            <div className="table-scroll">
              <table className="data">
                <thead>
                  <tr>
                    <th>Source</th>
                    <th className="num">Records/s</th>
                    <th className="num">Bytes/s</th>
                    <th className="num">Records since start</th>
                  </tr>
                </thead>
                <tbody>
                  {s.ingest.map((r) => (
                    <tr key={r.source} data-source={r.source}>
                      <td className="mono">{r.source}</td>
                      <td className="num">{rate(r.records_per_s)}</td>
                      <td className="num">{r.bytes_per_s === null ? '—' : `${bytes(r.bytes_per_s)}/s`}</td>
                      <td className="num">{r.records_total.toLocaleString()}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>

        <section className="panel" aria-label="Recent errors">
          <header>
            Ingest errors
            <span className="grow" />
            <button className="btn small" onClick={() => navigate({ ...DEFAULT_STATE, q: 'level>=err' })}>
              Error records →
            </button>
          </header>
          {s && s.errors.length === 0 && <div className="empty">No refused records since the server started.</div>}
          {s && s.errors.length > 0 && (
            <div className="table-scroll">
              <table className="data">
                <thead>
                  <tr>
                    <th>Last seen</th>
                    <th>Source</th>
                    <th>Reason</th>
                    <th className="num">Last {formatDuration(Math.round(s.window_s) * 1000)}</th>
                    <th className="num">Total</th>
                  </tr>
                </thead>
                <tbody>
                  {s.errors.map((e) => (
                    <tr key={`${e.source}/${e.reason}`}>
                      <td className="muted">{e.last_seen ? ago(Date.parse(e.last_seen), now) : '—'}</td>
                      <td className="mono">{e.source}</td>
                      <td className="mono error">{e.reason}</td>
                      <td className="num">{e.in_window.toLocaleString()}</td>
                      <td className="num">{e.total.toLocaleString()}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>

        <section className="panel" aria-label="Agents">
          <header>Agents</header>
          {agentsMissing && <div className="empty">This server has no agent endpoint.</div>}
          {!agentsMissing && <ErrorText error={agents.error} className="body error" />}
          {agents.data && agents.data.agents.length === 0 && <div className="empty">No agent has connected since the server started.</div>}
          {agents.data && agents.data.agents.length > 0 && (
            <div className="table-scroll">
              <table className="data">
                <thead>
                  <tr>
                    <th>Host</th>
                    <th>Version</th>
                    <th>Last seen</th>
                    <th className="num">Lag</th>
                    <th className="num">Backlog</th>
                    <th className="num">Records</th>
                  </tr>
                </thead>
                <tbody>
                  {agents.data.agents.map((a) => (
                    <tr key={a.agent_id} title={`agent ${a.agent_id} from ${a.remote}`}>
                      <td className="mono">
                        {displayLine(a.hostname || a.agent_id)} {a.streams > 0 ? <span className="badge">connected</span> : null}
                      </td>
                      <td className="mono">{displayLine(a.version)}</td>
                      <td className="muted">{ago(Date.parse(a.last_seen), now)}</td>
                      <td className="num">{a.lag_ms === null ? '—' : formatDuration(Math.round(a.lag_ms))}</td>
                      <td className="num">{a.backlog_records === null ? '—' : a.backlog_records.toLocaleString()}</td>
                      <td className="num">{a.records_accepted.toLocaleString()}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>

        <section className="panel" aria-label="Storage per day">
          <header>Storage per day</header>
          {s && s.storage.days.length === 0 && <div className="empty">Nothing stored yet.</div>}
          {s && s.storage.days.length > 0 && (
            <div className="table-scroll">
              <table className="data">
                <thead>
                  <tr>
                    <th>Day (UTC)</th>
                    <th className="num">Records</th>
                    <th className="num">Compacted</th>
                    <th />
                    <th className="num">Segments</th>
                  </tr>
                </thead>
                <tbody>
                  {s.storage.days.map((d) => (
                    <tr key={d.day} className="clickable" onClick={() => navigate({ ...DEFAULT_STATE, from: `${d.day}T00:00:00Z`, to: `${d.day}T23:59:59.999Z` })}>
                      <td className="mono">{d.day}</td>
                      <td className="num">{d.rows.toLocaleString()}</td>
                      <td className="num">{bytes(d.bytes)}</td>
                      <td style={{ width: '30%' }}>
                        <div className="meter">
                          <i style={{ width: `${(100 * d.bytes) / maxDay}%` }} />
                        </div>
                      </td>
                      <td className="num">{d.segments}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
    </>
  );
}
