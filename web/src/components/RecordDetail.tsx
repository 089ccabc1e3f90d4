/**
 * A record expanded: every field with buttons to filter in or out, and its
 * raw form. Values are rendered as text only, with control characters made
 * visible (lib/ansi.ts), never as HTML.
 */
import { Link2, Minus, Plus } from 'lucide-react';
import type { RecordJson } from '../lib/api.ts';
import { displayExact } from '../lib/ansi.ts';
import { isQueryableField, type FilterMode } from '../lib/query-build.ts';
import { formatTs, zoneLabel, type Zone } from '../lib/time.ts';
import { formatUrl, DEFAULT_STATE } from '../lib/url-state.ts';
import { navigate } from '../hooks/useAppState.ts';

export type OnFilter = (field: string, value: string, mode: FilterMode) => void;

/** Longer values are cut in the table (the raw form below keeps them whole). */
const MAX_SHOWN = 20_000;

interface FieldRow {
  name: string;
  value: string;
  /** The value a filter compares with, when the field and value can be filtered on. */
  filterValue: string | null;
}

function scalarText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

function flattenAttrs(attrs: Record<string, unknown>, prefix: string, out: FieldRow[]): void {
  for (const [key, value] of Object.entries(attrs)) {
    const name = `${prefix}.${key}`;
    if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
      flattenAttrs(value as Record<string, unknown>, name, out);
      continue;
    }
    const scalar = scalarText(value);
    out.push({ name, value: scalar ?? JSON.stringify(value), filterValue: scalar !== null && isQueryableField(name) ? scalar : null });
  }
}

function recordFields(r: RecordJson): FieldRow[] {
  const core: [string, string | null][] = [
    ['level', r.level],
    ['host', r.host],
    ['service', r.service],
    ['unit', r.unit],
    ['os', r.os],
    ['type', r.type],
    ['trace_id', r.trace_id],
    ['span_id', r.span_id],
    ['correlation_id', r.correlation_id],
    ['template_id', r.template_id],
  ];
  const rows: FieldRow[] = core
    .filter(([, v]) => v !== null && v !== '')
    .map(([name, v]) => ({ name, value: v!, filterValue: v! }));
  flattenAttrs(r.attrs, 'attrs', rows);
  return rows;
}

function Value({ text }: { text: string }) {
  const shown = displayExact(text.length > MAX_SHOWN ? text.slice(0, MAX_SHOWN) : text);
  return (
    <>
      {shown}
      {text.length > MAX_SHOWN && <span className="long-note"> … {text.length - MAX_SHOWN} more characters (see the raw form)</span>}
    </>
  );
}

interface Props {
  record: RecordJson;
  zone: Zone;
  onFilter: OnFilter;
  /** The Related view's own record: no link to itself, the raw form folded away. */
  compact?: boolean;
}

export function RecordDetail({ record, zone, onFilter, compact = false }: Props) {
  const tsMs = Date.parse(record.ts);
  const related = formatUrl({ ...DEFAULT_STATE, view: 'related', id: record.id });
  return (
    <div className="detail" onClick={(e) => e.stopPropagation()}>
      <div className="actions">
        {!compact && (
          <a
            className="btn small"
            href={related}
            onClick={(e) => {
              e.preventDefault();
              navigate({ ...DEFAULT_STATE, view: 'related', id: record.id });
            }}
          >
            <Link2 size={13} /> Related records
          </a>
        )}
        <span className="muted mono">id {record.id}</span>
      </div>
      <table>
        <tbody>
          <tr>
            <td className="name">ts</td>
            <td className="value" title={`UTC ${formatTs(record.ts, 'utc')}`}>
              {formatTs(record.ts, zone)} <span className="muted">{zoneLabel(zone, tsMs)}</span>
              {zone === 'local' && <div className="muted">{formatTs(record.ts, 'utc')}</div>}
            </td>
            <td className="filters" />
          </tr>
          <tr>
            <td className="name">observed_ts</td>
            <td className="value">{formatTs(record.observed_ts, zone)}</td>
            <td className="filters" />
          </tr>
          <tr>
            <td className="name">message</td>
            <td className="value">
              <Value text={record.message} />
            </td>
            <FilterButtons field="message" value={record.message} onFilter={onFilter} />
          </tr>
          {recordFields(record).map((f) => (
            <tr key={f.name}>
              <td className="name">{f.name}</td>
              <td className="value">
                <Value text={f.value} />
              </td>
              {f.filterValue !== null ? <FilterButtons field={f.name} value={f.filterValue} onFilter={onFilter} /> : <td className="filters" />}
            </tr>
          ))}
        </tbody>
      </table>
      <details open={!compact}>
        <summary>Raw form</summary>
        <pre>{displayExact(JSON.stringify(record, null, 2))}</pre>
        {record.raw != null && (
          <>
            <h3>Original line</h3>
            <pre>{displayExact(record.raw)}</pre>
          </>
        )}
      </details>
    </div>
  );
}

function FilterButtons({ field, value, onFilter }: { field: string; value: string; onFilter: OnFilter }) {
  return (
    <td className="filters">
      <button className="btn small" title={`Only records where ${field} is this value`} aria-label={`Filter for ${field}`} onClick={() => onFilter(field, value, 'in')}>
        <Plus size={12} />
      </button>{' '}
      <button className="btn small" title={`Leave out records where ${field} is this value`} aria-label={`Filter out ${field}`} onClick={() => onFilter(field, value, 'out')}>
        <Minus size={12} />
      </button>
    </td>
  );
}
