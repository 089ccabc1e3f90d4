/** The time range: relative presets ("Last hour"), any `now-…` expression, or absolute bounds in the viewer's zone. */
import { useEffect, useRef, useState } from 'react';
import { Clock } from 'lucide-react';
import { DEFAULT_FROM, RELATIVE_PRESETS, describeRange, fromInputValue, parseTimeInput, resolveRange, toInputValue, zoneLabel, type Zone } from '../lib/time.ts';

interface Props {
  from: string;
  to: string;
  zone: Zone;
  onChange(from: string, to: string): void;
}

export function TimeRangePicker({ from, to, zone, onChange }: Props) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const now = Date.now();
  const resolved = resolveRange(from, to, now);
  const [absFrom, setAbsFrom] = useState('');
  const [absTo, setAbsTo] = useState('');
  const [relative, setRelative] = useState('');
  const [problem, setProblem] = useState('');

  useEffect(() => {
    if (!open) return;
    setAbsFrom(toInputValue(resolved.fromMs, zone));
    setAbsTo(toInputValue(resolved.toMs, zone));
    setRelative(from || DEFAULT_FROM);
    setProblem('');
    const onDown = (e: MouseEvent) => {
      if (!box.current?.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
    // The form is filled once per opening, not on every render while it is open.
  }, [open]);

  const choose = (f: string, t: string) => {
    setOpen(false);
    onChange(f === DEFAULT_FROM ? '' : f, t === 'now' ? '' : t);
  };

  return (
    <div className="range" ref={box}>
      <button className="btn" aria-haspopup="dialog" aria-expanded={open} onClick={() => setOpen((o) => !o)} title={resolved.error ?? zoneLabel(zone, now)}>
        <Clock size={15} /> {describeRange(from, to, zone)}
      </button>
      {open && (
        <div className="popup" role="dialog" aria-label="Time range">
          <ul>
            {RELATIVE_PRESETS.map((p) => (
              <li key={p.from}>
                <button aria-pressed={(from || DEFAULT_FROM) === p.from && !to} onClick={() => choose(p.from, 'now')}>
                  {p.label}
                </button>
              </li>
            ))}
          </ul>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              const f = fromInputValue(absFrom, zone);
              const t = fromInputValue(absTo, zone);
              if (!f || !t) return setProblem('Both bounds are needed.');
              if (f > t) return setProblem('The range starts after it ends.');
              choose(f, t);
            }}
          >
            <strong>Absolute</strong> <span className="muted">({zone === 'utc' ? 'UTC' : 'local time'})</span>
            <label>
              From
              <input type="datetime-local" step="1" value={absFrom} onChange={(e) => setAbsFrom(e.target.value)} aria-label="From" />
            </label>
            <label>
              To
              <input type="datetime-local" step="1" value={absTo} onChange={(e) => setAbsTo(e.target.value)} aria-label="To" />
            </label>
            <div className="row" style={{ marginTop: 6 }}>
              <button className="btn primary" type="submit">
                Apply
              </button>
            </div>
            <label>
              Relative (now-2h, now-3d)
              <input
                value={relative}
                onChange={(e) => setRelative(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key !== 'Enter') return;
                  e.preventDefault();
                  if (parseTimeInput(relative, Date.now()) === undefined) setProblem(`"${relative}" is not a time`);
                  else choose(relative.trim(), 'now');
                }}
                aria-label="Relative start"
              />
            </label>
            {problem && <div className="error">{problem}</div>}
          </form>
        </div>
      )}
    </div>
  );
}
