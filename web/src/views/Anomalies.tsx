/**
 * Anomalies: the records the anomaly stage writes (docs/pipeline.md), found
 * with the ordinary search API by `attrs.anomaly.kind:*`; their evidence is
 * attrs.anomaly ({kind, service, template_id, template, expected, observed,
 * z, window}). A click opens the record's related records.
 */
import { useQuery } from '@tanstack/react-query';
import { apiGet, type QueryResponse, type RecordJson } from '../lib/api.ts';
import { displayLine } from '../lib/ansi.ts';
import { formatTs } from '../lib/time.ts';
import { DEFAULT_STATE } from '../lib/url-state.ts';
import { navigate } from '../hooks/useAppState.ts';
import { usePreferences } from '../hooks/usePreferences.tsx';
import { ErrorText } from '../components/ErrorText.tsx';

const ANOMALY_QUERY = 'attrs.anomaly.kind:*';

interface Anomaly {
  kind?: unknown;
  template_id?: unknown;
  template?: unknown;
  service?: unknown;
  expected?: unknown;
  observed?: unknown;
  z?: unknown;
  window?: unknown;
}

const text = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? displayLine(v) : displayLine(JSON.stringify(v)));

export function Anomalies({ params }: { params: { q: string; from: string; to: string } }) {
  const { zone } = usePreferences();
  const anomalies = useQuery({
    queryKey: ['anomalies', params.from, params.to],
    queryFn: ({ signal }) => apiGet<QueryResponse>('/api/v1/query', { q: ANOMALY_QUERY, from: params.from, to: params.to, limit: 200 }, signal),
  });
  const rows = anomalies.data?.records ?? [];
  const open = (r: RecordJson) => navigate({ ...DEFAULT_STATE, view: 'related', id: r.id });
  return (
    <section className="panel" aria-label="Anomalies">
      <header>
        Anomalies <span className="muted">{anomalies.data ? rows.length : ''}</span>
      </header>
      <ErrorText error={anomalies.error} className="body error" />
      {anomalies.data && rows.length === 0 && <div className="empty">No anomalies in this range.</div>}
      {rows.length > 0 && (
        <div className="table-scroll">
          <table className="data">
            <thead>
              <tr>
                <th>Time</th>
                <th>Kind</th>
                <th>Where</th>
                <th className="num">Expected</th>
                <th className="num">Observed</th>
                <th>Window</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => {
                const a = (r.attrs.anomaly ?? {}) as Anomaly;
                return (
                  <tr key={r.id} className="clickable" tabIndex={0} onClick={() => open(r)} onKeyDown={(e) => e.key === 'Enter' && open(r)} data-id={r.id}>
                    <td className="muted">{formatTs(r.ts, zone).slice(0, 19)}</td>
                    <td>
                      <span className="badge warn">{text(a.kind)}</span>
                    </td>
                    <td className="mono" title={text(a.template_id)}>
                      {[text(a.service ?? r.service), text(a.template ?? a.template_id)].filter(Boolean).join(' · ')}
                    </td>
                    <td className="num">{text(a.expected)}</td>
                    <td className="num">
                      {text(a.observed)}
                      {typeof a.z === 'number' && <span className="muted"> (z {a.z})</span>}
                    </td>
                    <td>{text(a.window)}</td>
                    <td>{displayLine(r.message)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
