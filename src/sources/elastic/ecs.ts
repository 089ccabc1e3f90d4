/**
 * An Elasticsearch document (`_source`) → LogRecord, by the Elastic Common
 * Schema that Beats, Logstash (ECS mode), Vector and Fluent Bit write
 * (docs/protocols/elasticsearch.md has the table). Dotted keys mean what they
 * mean to Elasticsearch (`"log.level"` is `log: {level}`), so both spellings
 * map the same way and the attrs keep one nested shape that queries address
 * as `event.dataset:...`. The field that became a core field leaves the attrs;
 * everything else stays, nested as sent. recordFromJson does the validation.
 */
import type { Attrs, JsonValue } from '../../record/record.ts';
import { OS_VALUES, TYPE_VALUES } from '../../record/record.ts';
import { recordFromJson, type JsonDefaults, type JsonRecordResult } from '../../record/normalize/json.ts';
import { parseSeverity } from '../../record/severity.ts';

type Doc = Record<string, unknown>;

function isObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `{"a.b": 1, "a": {"c": 2}}` → `{a: {b: 1, c: 2}}`; a key that cannot merge
 * (`"a": 1, "a.b": 2`) stays dotted. `__proto__` keys are dropped: assigning
 * them would reach object prototypes.
 */
export function expandDots(doc: Doc): Doc {
  const out: Doc = {};
  for (const key of Object.keys(doc)) {
    const raw = doc[key];
    const value = isObject(raw) ? expandDots(raw) : raw;
    if (!key.includes('.')) {
      if (key !== '__proto__') merge(out, key, value);
      continue;
    }
    const parts = key.split('.');
    if (parts.includes('__proto__')) continue;
    if (parts.includes('')) {
      merge(out, key, value);
      continue;
    }
    let node = out;
    let i = 0;
    for (; i < parts.length - 1; i++) {
      const next = own(node, parts[i]!);
      if (next === undefined) node = node[parts[i]!] = {};
      else if (isObject(next)) node = next;
      else break;
    }
    const last = own(node, parts[i]!);
    if (i < parts.length - 1 || (last !== undefined && !(isObject(last) && isObject(value)))) {
      out[key] = value;
      continue;
    }
    merge(node, parts[i]!, value);
  }
  return out;
}

function own(doc: Doc, key: string): unknown {
  return Object.hasOwn(doc, key) ? doc[key] : undefined;
}

function merge(into: Doc, key: string, value: unknown): void {
  const existing = own(into, key);
  if (isObject(existing) && isObject(value)) {
    for (const k of Object.keys(value)) merge(existing, k, value[k]);
  } else {
    into[key] = value;
  }
}

/** Removes the leaf at `path` and the objects it leaves empty. */
function remove(doc: Doc, path: string[]): void {
  const chain: Doc[] = [doc];
  for (let i = 0; i < path.length - 1; i++) {
    const child = chain[i]![path[i]!];
    if (!isObject(child)) return;
    chain.push(child);
  }
  delete chain[path.length - 1]![path[path.length - 1]!];
  for (let i = path.length - 1; i > 0 && isEmpty(chain[i]!); i--) delete chain[i - 1]![path[i - 1]!];
}

function isEmpty(doc: Doc): boolean {
  for (const _ in doc) return false;
  return true;
}

function get(doc: Doc, path: string[]): unknown {
  let node: unknown = doc;
  for (const p of path) {
    if (!isObject(node) || !Object.hasOwn(node, p)) return undefined;
    node = node[p];
  }
  return node;
}

/** The first candidate field whose value `accept` takes; that field leaves the document. */
function take<T>(doc: Doc, candidates: string[][], accept: (v: unknown) => T | undefined): T | undefined {
  for (const path of candidates) {
    const raw = get(doc, path);
    if (raw === undefined) continue;
    const value = accept(raw);
    if (value === undefined) continue;
    remove(doc, path);
    return value;
  }
  return undefined;
}

const paths = (...names: string[]) => names.map((n) => n.split('.'));
const scalarText = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const present = (v: unknown): unknown => v;

const MESSAGE = paths('message', 'log', 'msg', 'event.original');
const LEVEL = paths('log.level', 'level', 'severity', 'log.syslog.severity.code', 'log.syslog.severity.name');
const HOST = paths('host.name', 'host.hostname', 'host', 'hostname', 'agent.hostname');
const UNIT = paths('process.name', 'systemd.unit', 'winlog.provider_name', 'log.syslog.appname');
const SERVICE = paths('service.name', 'service');
const OS_OF_PLATFORM: Record<string, (typeof OS_VALUES)[number]> = { linux: 'linux', windows: 'windows', macos: 'macos', darwin: 'macos' };

/** Maps one bulk document. `index` and a client-given `_id` are kept as the attrs `_index` and `_id`. */
export function recordFromEcs(source: Doc, meta: { index: string; id: string | null }, d: JsonDefaults): JsonRecordResult {
  const doc = expandDots(source);
  const fields: Doc = {};
  const ts = take(doc, paths('@timestamp'), present);
  if (ts !== undefined) fields['@timestamp'] = ts;
  fields.message = take(doc, MESSAGE, scalarText) ?? '';
  const severity = take(doc, LEVEL, parseSeverity);
  if (severity !== undefined) fields.level = severity;
  const host = take(doc, HOST, nonEmpty);
  if (host !== undefined) fields.host = host;
  const unit = take(doc, UNIT, nonEmpty);
  if (unit !== undefined) fields.unit = unit;
  const service = take(doc, SERVICE, nonEmpty);
  if (service !== undefined) fields.service = service;
  const traceId = take(doc, paths('trace.id', 'trace_id'), nonEmpty);
  if (traceId !== undefined) fields.trace_id = traceId;
  const spanId = take(doc, paths('span.id', 'span_id'), nonEmpty);
  if (spanId !== undefined) fields.span_id = spanId;
  const correlationId = take(doc, paths('correlation_id'), nonEmpty);
  if (correlationId !== undefined) fields.correlation_id = correlationId;
  // A plain `os`/`type` (Cairn's own JSON shape) is taken only when it is a value Cairn knows;
  // Logstash's free-form `type` stays an attr.
  const os = take(doc, paths('os'), (v) => (OS_VALUES as readonly unknown[]).includes(v) ? v : undefined);
  const platform = get(doc, ['host', 'os', 'type']) ?? get(doc, ['host', 'os', 'platform']);
  fields.os = os ?? (typeof platform === 'string' ? OS_OF_PLATFORM[platform.toLowerCase()] : undefined) ?? 'other';
  const type = take(doc, paths('type'), (v) => (TYPE_VALUES as readonly unknown[]).includes(v) ? v : undefined);
  const channel = get(doc, ['winlog', 'channel']);
  fields.type = type ?? (channel === 'System' || channel === 'Security' ? 'system' : 'application');
  const attrs: Attrs = doc as Attrs;
  attrs._index = meta.index;
  if (meta.id !== null) attrs._id = meta.id;
  fields.attrs = attrs as JsonValue;
  return recordFromJson(fields, d);
}
