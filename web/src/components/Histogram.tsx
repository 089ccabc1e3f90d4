/**
 * Matches over time, stacked by severity, drawn as SVG (a few hundred rects:
 * no chart library needed). Dragging across it selects a range to zoom into.
 */
import { useMemo, useRef, useState } from 'react';
import { SEVERITIES } from '../lib/severity.ts';
import { formatDuration, formatMs, type Zone } from '../lib/time.ts';
import { useElementWidth } from '../hooks/useElementWidth.ts';

export interface Bucket {
  ts: string;
  count: number;
  groups?: Record<string, number>;
}

interface Props {
  buckets: Bucket[];
  stepMs: number;
  fromMs: number;
  toMs: number;
  zone: Zone;
  onZoom?(fromMs: number, toMs: number): void;
  height?: number;
  label: string;
}

const TICKS_MS = [1e3, 5e3, 1e4, 3e4, 6e4, 3e5, 6e5, 18e5, 36e5, 108e5, 216e5, 432e5, 864e5, 6048e5];
const LEFT = 44;
const BOTTOM = 18;
const KEYS = [...SEVERITIES, 'other'] as const;

function niceMax(n: number): number {
  if (n <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((v) => v >= n)!;
}

export function Histogram({ buckets, stepMs, fromMs, toMs, zone, onZoom, height = 120, label }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const width = useElementWidth(ref);
  const [drag, setDrag] = useState<{ x0: number; x1: number } | null>(null);
  const [hover, setHover] = useState<{ x: number; i: number } | null>(null);
  const plotW = Math.max(10, width - LEFT - 4);
  const plotH = height - BOTTOM - 4;
  const span = Math.max(1, toMs - fromMs);
  const x = (ms: number) => LEFT + ((ms - fromMs) / span) * plotW;
  const msAt = (px: number) => fromMs + ((Math.min(Math.max(px, LEFT), LEFT + plotW) - LEFT) / plotW) * span;

  const parsed = useMemo(
    () =>
      buckets.map((b) => {
        const at = Date.parse(b.ts);
        const parts: Record<string, number> = {};
        let known = 0;
        for (const [k, v] of Object.entries(b.groups ?? {})) {
          const key = (SEVERITIES as readonly string[]).includes(k) ? k : 'other';
          parts[key] = (parts[key] ?? 0) + v;
          known += v;
        }
        if (b.count > known) parts.other = (parts.other ?? 0) + b.count - known;
        return { at, count: b.count, parts };
      }),
    [buckets],
  );
  const max = niceMax(parsed.reduce((m, b) => Math.max(m, b.count), 0));
  const y = (n: number) => 4 + plotH - (n / max) * plotH;

  const ticks = useMemo(() => {
    const every = TICKS_MS.find((t) => (span / t) * 110 <= plotW) ?? TICKS_MS.at(-1)!;
    const offset = zone === 'utc' ? 0 : -new Date(fromMs).getTimezoneOffset() * 60_000;
    const out: number[] = [];
    for (let t = Math.ceil((fromMs + offset) / every) * every - offset; t <= toMs && out.length < 50; t += every) out.push(t);
    return { every, out };
  }, [span, plotW, fromMs, toMs, zone]);

  const tickLabel = (t: number) => {
    const s = formatMs(t, zone, false);
    if (ticks.every >= 864e5) return s.slice(5, 10);
    if (ticks.every < 6e4) return s.slice(11, 19);
    return span > 864e5 ? `${s.slice(5, 10)} ${s.slice(11, 16)}` : s.slice(11, 16);
  };

  const pointerX = (e: React.PointerEvent) => e.clientX - (ref.current?.getBoundingClientRect().left ?? 0);
  const bucketAt = (px: number) => {
    const ms = msAt(px);
    return parsed.findIndex((b) => ms >= b.at && ms < b.at + stepMs);
  };
  const hovered = hover && hover.i >= 0 ? parsed[hover.i] : undefined;

  return (
    <div
      className="histogram"
      ref={ref}
      onPointerDown={(e) => {
        if (!onZoom || e.button !== 0) return;
        (e.target as Element).setPointerCapture?.(e.pointerId);
        const px = pointerX(e);
        setDrag({ x0: px, x1: px });
      }}
      onPointerMove={(e) => {
        const px = pointerX(e);
        if (drag) setDrag({ ...drag, x1: px });
        setHover({ x: px, i: bucketAt(px) });
      }}
      onPointerUp={() => {
        if (drag && onZoom && Math.abs(drag.x1 - drag.x0) > 4) {
          const a = msAt(Math.min(drag.x0, drag.x1));
          const b = msAt(Math.max(drag.x0, drag.x1));
          onZoom(Math.floor(a), Math.ceil(b));
        }
        setDrag(null);
      }}
      onPointerLeave={() => setHover(null)}
      onPointerCancel={() => setDrag(null)}
    >
      <svg height={height} role="img" aria-label={label}>
        <line className="grid" x1={LEFT} x2={LEFT + plotW} y1={y(max)} y2={y(max)} />
        <line className="grid" x1={LEFT} x2={LEFT + plotW} y1={y(max / 2)} y2={y(max / 2)} strokeDasharray="3 3" />
        <line className="grid" x1={LEFT} x2={LEFT + plotW} y1={y(0)} y2={y(0)} />
        <text className="axis" x={LEFT - 6} y={y(max) + 4} textAnchor="end">
          {max.toLocaleString()}
        </text>
        <text className="axis" x={LEFT - 6} y={y(0)} textAnchor="end">
          0
        </text>
        {ticks.out.map((t) => (
          <text key={t} className="axis" x={x(t)} y={height - 4} textAnchor="middle">
            {tickLabel(t)}
          </text>
        ))}
        {parsed.map((b) => {
          if (b.count === 0) return null;
          const x0 = Math.max(LEFT, x(b.at));
          const w = Math.max(1, Math.min(LEFT + plotW, x(b.at + stepMs)) - x0 - (plotW / parsed.length > 4 ? 1 : 0));
          let acc = 0;
          return (
            <g key={b.at}>
              {KEYS.map((k) => {
                const n = b.parts[k] ?? 0;
                if (n === 0) return null;
                const top = y(acc + n);
                const h = y(acc) - top;
                acc += n;
                return <rect key={k} className={`sev-fill-${k}`} x={x0} y={top} width={w} height={Math.max(h, 0.5)} />;
              })}
            </g>
          );
        })}
        {drag && Math.abs(drag.x1 - drag.x0) > 1 && (
          <rect className="selection" x={Math.max(LEFT, Math.min(drag.x0, drag.x1))} y={4} width={Math.abs(drag.x1 - drag.x0)} height={plotH} />
        )}
      </svg>
      {hovered && !drag && (
        <div className="tooltip popup" style={{ left: Math.min(hover!.x + 12, width - 200), top: 4 }}>
          <div>
            <strong>{formatMs(hovered.at, zone, stepMs < 1000)}</strong> <span className="muted">+{formatDuration(stepMs)}</span>
          </div>
          <div>{hovered.count.toLocaleString()} records</div>
          {KEYS.filter((k) => (hovered.parts[k] ?? 0) > 0).map((k) => (
            <div key={k}>
              <i className={`sev-fill-${k}`} style={{ display: 'inline-block', width: 8, height: 8, marginRight: 4 }} />
              {k}: {hovered.parts[k]!.toLocaleString()}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export function SeverityLegend() {
  return (
    <div className="legend" aria-hidden="true">
      {SEVERITIES.map((s) => (
        <span key={s}>
          <i className={`sev-fill-${s}`} />
          {s}
        </span>
      ))}
    </div>
  );
}
