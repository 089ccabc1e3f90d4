/**
 * A record seen as Loki sees a log line: stream labels (the core fields
 * host, unit, service, os, type and level), structured metadata (trace ids,
 * template id and the attrs, nested keys joined with "_"), and the line.
 * Absent and empty are the same: a label with an empty value does not exist.
 *
 * Label names cannot hold dots, so a name such as `http_status` may stand for
 * attrs key `http_status`, the nested `http.status` or the dotted key
 * `"http.status"`. labelPaths() lists the readings in one fixed order; the
 * store and the in-process evaluator both take the first one present, so
 * they agree on every record.
 */
import type { JsonValue, LogRecord } from '../record/record.ts';
import { SEVERITY_NAMES, severityName } from '../record/severity.ts';

export const STREAM_LABELS = ['host', 'unit', 'service', 'os', 'type', 'level'] as const;
type StreamLabel = (typeof STREAM_LABELS)[number];
const STREAM_LABEL_SET: ReadonlySet<string> = new Set(STREAM_LABELS);

/** Core columns that are structured metadata rather than stream labels. */
export const METADATA_COLUMNS = ['trace_id', 'span_id', 'correlation_id', 'template_id'] as const;
type MetadataColumn = (typeof METADATA_COLUMNS)[number];
const METADATA_COLUMN_SET: ReadonlySet<string> = new Set(METADATA_COLUMNS);

export const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isStreamLabel(name: string): name is StreamLabel {
  return STREAM_LABEL_SET.has(name);
}

export function isMetadataColumn(name: string): name is MetadataColumn {
  return METADATA_COLUMN_SET.has(name);
}

export function streamLabelValue(r: LogRecord, name: StreamLabel): string {
  return name === 'level' ? severityName(r.severity) : (r[name] ?? '');
}

/** The stream labels of a record (empty values left out). */
export function streamLabels(r: LogRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STREAM_LABELS) {
    const v = streamLabelValue(r, name);
    if (v !== '') out[name] = v;
  }
  return out;
}

/** Loki's level names for severities 0..7, in order (index = severity). */
export const LEVEL_NAMES: readonly string[] = SEVERITY_NAMES;

const MAX_EXPANDED_UNDERSCORES = 3;
const READINGS = ['_', 'nest', '.'] as const;

/**
 * attrs paths a structured-metadata label name may stand for, in lookup order.
 * Every "_" is a literal "_", a nesting step or a literal "."; past three
 * underscores only the three uniform readings are tried.
 */
export function labelPaths(name: string): string[][] {
  const parts = name.split('_');
  const gaps = parts.length - 1;
  const choices: (typeof READINGS)[number][][] = [];
  if (gaps <= MAX_EXPANDED_UNDERSCORES) {
    const total = READINGS.length ** gaps;
    for (let n = 0; n < total; n++) {
      const pick: (typeof READINGS)[number][] = [];
      let rest = n;
      for (let g = 0; g < gaps; g++) {
        pick.push(READINGS[rest % READINGS.length]!);
        rest = Math.floor(rest / READINGS.length);
      }
      choices.push(pick);
    }
  } else {
    for (const r of READINGS) choices.push(new Array(gaps).fill(r));
  }
  const out: string[][] = [];
  const seen = new Set<string>();
  for (const pick of choices) {
    const path: string[] = [];
    let key = parts[0]!;
    for (let g = 0; g < gaps; g++) {
      const r = pick[g]!;
      if (r === 'nest') {
        path.push(key);
        key = parts[g + 1]!;
      } else key += r + parts[g + 1]!;
    }
    path.push(key);
    const id = JSON.stringify(path);
    if (path.some((p) => p === '') || seen.has(id)) continue;
    seen.add(id);
    out.push(path);
  }
  return out;
}

/** A JSON value as text, the way the store's json_extract_string renders it. */
export function jsonText(v: JsonValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export function attrAt(attrs: Record<string, JsonValue>, path: readonly string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = attrs;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, JsonValue>)[key];
  }
  return cur;
}

/** A structured-metadata label's value ("" when absent). */
export function metadataValue(r: LogRecord, name: string): string {
  if (isMetadataColumn(name)) return r[name] ?? '';
  for (const path of labelPaths(name)) {
    const text = jsonText(attrAt(r.attrs, path));
    if (text !== null) return text;
  }
  return '';
}

/** A label's value before any parser ran ("" when absent). */
export function baseLabelValue(r: LogRecord, name: string): string {
  return isStreamLabel(name) ? streamLabelValue(r, name) : metadataValue(r, name);
}

/** A key as a label name: characters a label cannot hold become "_". */
export function sanitizeLabelName(key: string): string {
  const s = key.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** Structured metadata of a record as Loki returns it: flat string pairs, empty values left out. */
export function structuredMetadata(r: LogRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of METADATA_COLUMNS) {
    const v = r[c];
    if (v) out[c] = v;
  }
  const walk = (obj: Record<string, JsonValue>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      const name = prefix + sanitizeLabelName(k);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        walk(v, `${name}_`);
        continue;
      }
      const text = jsonText(v);
      if (text !== null && text !== '' && !(name in out)) out[name] = text;
    }
  };
  walk(r.attrs, '');
  return out;
}

/** A stable key for a label set (for grouping into streams and series). */
export function labelsKey(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  let out = '';
  for (const k of keys) out += `${k}\u0000${labels[k]}\u0001`;
  return out;
}

export function levelOf(name: string): number | undefined {
  const i = LEVEL_NAMES.indexOf(name);
  return i < 0 ? undefined : i;
}
