/**
 * Attribute keys with dots. OpenTelemetry (and Elastic, and many JSON loggers)
 * name attributes `http.request.method`; the query language reads
 * `http.request.method:GET` as the path http → request → method. Storing such
 * keys as nested objects makes both agree.
 */
import type { Attrs, JsonValue } from './record.ts';

/** Sets obj[key] as an own property, even for "__proto__" (attribute keys come from senders). */
export function putOwn(obj: Attrs, key: string, value: JsonValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * Attribute values may nest at most this deep: deeper ones are refused (or, for
 * protocols that cannot refuse one value, cut), because walking them later
 * (serializing a batch for the store) recurses and would overflow the stack.
 */
export const MAX_ATTR_DEPTH = 64;

/** Whether a JSON value nests objects or arrays more than `levels` deep. */
export function nestedDeeper(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) return value.some((v) => nestedDeeper(v, levels - 1));
  for (const key in value) if (nestedDeeper((value as Record<string, unknown>)[key], levels - 1)) return true;
  return false;
}

function isObject(v: JsonValue | undefined): v is Attrs {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Split dotted keys, cached: the same few attribute names come with every record. */
const PATHS = new Map<string, string[] | null>();
const MAX_CACHED_PATHS = 4096;

function pathOf(key: string): string[] | null {
  let parts = PATHS.get(key);
  if (parts !== undefined) return parts;
  parts = key.includes('.') && !key.startsWith('.') && !key.endsWith('.') && !key.includes('..') ? key.split('.') : null;
  if (PATHS.size >= MAX_CACHED_PATHS) PATHS.clear();
  PATHS.set(key, parts);
  return parts;
}

/**
 * Sets a dotted key as a nested path. When the path runs into a value that is
 * not an object (`a` = 1, then `a.b` = 2) the key is kept as written
 * (`{"a": 1, "a.b": 2}`) and the result is false: set keys with fewer dots
 * first (see expandAttributes) and no value is lost.
 */
export function setDotted(target: Attrs, key: string, value: JsonValue): boolean {
  const parts = pathOf(key);
  if (!parts) {
    const clash = Object.hasOwn(target, key) && isObject(target[key]) && !isObject(value);
    putOwn(target, key, value);
    return !clash;
  }
  let node = target;
  const last = parts.length - 1;
  for (let i = 0; i < last; i++) {
    const part = parts[i]!;
    const next = Object.hasOwn(node, part) ? node[part] : undefined;
    if (next === undefined) {
      const child: Attrs = {};
      putOwn(node, part, child);
      node = child;
    } else if (isObject(next)) {
      node = next;
    } else {
      putOwn(target, key, value);
      return false;
    }
  }
  const leaf = parts[last]!;
  if (Object.hasOwn(node, leaf) && isObject(node[leaf]) && !isObject(value)) {
    putOwn(target, key, value);
    return false;
  }
  putOwn(node, leaf, value);
  return true;
}

function dots(key: string): number {
  let n = 0;
  for (let i = key.indexOf('.'); i !== -1; i = key.indexOf('.', i + 1)) n++;
  return n;
}

/**
 * Key/value pairs → nested attrs. In the sender's order first; if two keys
 * collided (`a` and `a.b`), again with fewer dots first, so the shallower key
 * stays nested, the deeper one keeps its dotted form, and the result does not
 * depend on the order the sender used.
 */
export function expandAttributes(pairs: [string, JsonValue][]): Attrs {
  const out: Attrs = {};
  let clean = true;
  for (const [k, v] of pairs) if (!setDotted(out, k, v)) clean = false;
  if (clean) return out;
  const sorted: Attrs = {};
  for (const [k, v] of [...pairs].sort((a, b) => dots(a[0]) - dots(b[0]))) setDotted(sorted, k, v);
  return sorted;
}

/** A deep copy of JSON data (faster than structuredClone for small objects). */
export function cloneJson<T extends JsonValue>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneJson) as T;
  const out: Attrs = {};
  for (const k in value) putOwn(out, k, cloneJson(value[k]!));
  return out as T;
}
