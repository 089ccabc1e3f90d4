/**
 * The results list: one line per record, virtualized (only the rows in view
 * exist in the DOM, so 10,000+ records scroll smoothly), with a keyboard
 * cursor (j/k or arrows, Enter to expand, Esc to close) and records that
 * expand in place to every field.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { RecordJson } from '../lib/api.ts';
import { displayLine } from '../lib/ansi.ts';
import { SEVERITY_LABELS, severityOf } from '../lib/severity.ts';
import { formatTs, type Zone } from '../lib/time.ts';
import { RecordDetail, type OnFilter } from './RecordDetail.tsx';

/** The row shows this much of a message; the rest is one click away. */
const ROW_CHARS = 1000;

interface Props {
  records: RecordJson[];
  zone: Zone;
  /** Id of the expanded record, or ''. */
  expandedId: string;
  onExpand(id: string): void;
  onFilter: OnFilter;
  /** Called when the last rows come into view (load the next page). */
  onEndReached?(): void;
  footer?: ReactNode;
  /** Live tail: keep the newest (last) row in view while the viewer is at the bottom. */
  follow?: boolean;
  label: string;
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

export function ResultsList({ records, zone, expandedId, onExpand, onFilter, onEndReached, footer, follow, label }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [cursor, setCursor] = useState(-1);
  const atBottom = useRef(true);

  const virtualizer = useVirtualizer({
    count: records.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 27,
    overscan: 15,
    getItemKey: (i) => records[i]!.id,
  });
  const items = virtualizer.getVirtualItems();

  // The expanded record (from the URL) carries the cursor.
  useEffect(() => {
    if (!expandedId) return;
    const i = records.findIndex((r) => r.id === expandedId);
    if (i >= 0) setCursor(i);
  }, [expandedId, records]);

  const last = items.at(-1)?.index ?? -1;
  useEffect(() => {
    if (onEndReached && records.length > 0 && last >= records.length - 30) onEndReached();
  }, [last, records.length, onEndReached]);

  useEffect(() => {
    if (follow && atBottom.current && records.length > 0) virtualizer.scrollToIndex(records.length - 1, { align: 'end' });
  }, [follow, records, virtualizer]);

  const move = (to: number) => {
    const i = Math.max(0, Math.min(records.length - 1, to));
    setCursor(i);
    virtualizer.scrollToIndex(i, { align: 'auto' });
  };

  const toggle = (i: number) => {
    const r = records[i];
    if (!r) return;
    setCursor(i);
    onExpand(r.id === expandedId ? '' : r.id);
  };

  const onKey = (e: KeyboardEvent | React.KeyboardEvent) => {
    if (e.altKey || e.ctrlKey || e.metaKey || records.length === 0) return false;
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 540) / 27) - 1);
    switch (e.key) {
      case 'j':
      case 'ArrowDown':
        move(cursor + 1);
        break;
      case 'k':
      case 'ArrowUp':
        move(cursor - 1);
        break;
      case 'PageDown':
        move(cursor + page);
        break;
      case 'PageUp':
        move(cursor - page);
        break;
      case 'Home':
        move(0);
        break;
      case 'End':
        move(records.length - 1);
        break;
      case 'Enter':
      case 'o':
        if (cursor >= 0) toggle(cursor);
        break;
      case 'Escape':
        if (expandedId) onExpand('');
        else setCursor(-1);
        break;
      default:
        return false;
    }
    e.preventDefault();
    return true;
  };

  // j, k, Enter and Esc work from anywhere on the page except while typing; arrows when the list has focus.
  useEffect(() => {
    const onDocKey = (e: KeyboardEvent) => {
      if (isTyping(e.target) || scrollRef.current?.contains(e.target as Node)) return;
      if (e.key.startsWith('Arrow') || e.key.startsWith('Page') || e.key === 'Home' || e.key === 'End') return;
      if (onKey(e)) scrollRef.current?.focus({ preventScroll: true });
    };
    document.addEventListener('keydown', onDocKey);
    return () => document.removeEventListener('keydown', onDocKey);
  });

  return (
    <div
      className="list"
      ref={scrollRef}
      tabIndex={0}
      role="grid"
      aria-label={label}
      aria-rowcount={records.length}
      onKeyDown={(e) => {
        if (!isTyping(e.target)) onKey(e);
      }}
      onScroll={(e) => {
        const el = e.currentTarget;
        atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      }}
    >
      <div className="list-inner" style={{ height: virtualizer.getTotalSize() }}>
        {items.map((item) => {
          const r = records[item.index]!;
          const severity = severityOf(r.level);
          const expanded = r.id === expandedId;
          return (
            <div
              key={item.key}
              className="rec"
              role="row"
              aria-rowindex={item.index + 1}
              aria-expanded={expanded}
              data-index={item.index}
              data-id={r.id}
              data-severity={severity}
              data-cursor={item.index === cursor}
              ref={virtualizer.measureElement}
              style={{ transform: `translateY(${item.start}px)` }}
            >
              <div className="line" role="gridcell" onClick={() => toggle(item.index)}>
                <span className="ts" title={`${formatTs(r.ts, 'utc')} (UTC)`}>
                  {formatTs(r.ts, zone).slice(5, 23)}
                </span>
                <span className={`lvl sev-${severity}`}>{SEVERITY_LABELS[severity]}</span>
                <span className="src">{[r.host, r.service || r.unit].filter(Boolean).map(displayLine).join(' · ')}</span>
                <span className="msg">{displayLine(r.message.length > ROW_CHARS ? r.message.slice(0, ROW_CHARS) : r.message)}</span>
              </div>
              {expanded && <RecordDetail record={r} zone={zone} onFilter={onFilter} />}
            </div>
          );
        })}
      </div>
      {footer}
    </div>
  );
}
