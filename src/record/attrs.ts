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

function isObject(v: JsonValue | undefined): v is Attrs {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Sets a dotted key as a nested path. When the path runs into an existing
 * non-object value (`a` = 1, then `a.b` = 2), the key is kept as written
 * (`{"a": 1, "a.b": 2}`) rather than losing either value.
 */
export function setDotted(target: Attrs, key: string, value: JsonValue): void {
  if (!key.includes('.') || key.startsWith('.') || key.endsWith('.') || key.includes('..')) {
    putOwn(target, key, value);
    return;
  }
  const parts = key.split('.');
  let node = target;
  for (let i = 0; i < parts.length - 1; i++) {
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
      return;
    }
  }
  const leaf = parts[parts.length - 1]!;
  if (Object.hasOwn(node, leaf) && isObject(node[leaf]) && !isObject(value)) putOwn(target, key, value);
  else putOwn(node, leaf, value);
}

/** Fewer dots first, so `a` is placed before `a.b` and both survive (see setDotted). */
export function byDepth(a: string, b: string): number {
  return dots(a) - dots(b);
}

function dots(key: string): number {
  let n = 0;
  for (let i = key.indexOf('.'); i !== -1; i = key.indexOf('.', i + 1)) n++;
  return n;
}
