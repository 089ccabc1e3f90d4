/**
 * Synthetic workloads built from the Loghub lines: records with varied hosts
 * and timestamps spread over a window, serialized as NDJSON request bodies.
 */
import { datasetNames, loadRawLines } from './loghub.ts';

export interface GeneratedBodies {
  bodies: Buffer[];
  lines: number;
  /** Bytes of the raw Loghub lines carried as messages (the "raw bytes"). */
  rawBytes: number;
  /** Bytes of the NDJSON bodies on the wire. */
  wireBytes: number;
}

/** Each digit run becomes another number of the same length, determined by (run, replica). */
export function varyNumbers(line: string, replica: number): string {
  if (replica === 0) return line;
  return line.replace(/\d+/g, (digits) => {
    let h = replica * 2654435761;
    for (let k = 0; k < digits.length; k++) h = Math.imul(h ^ digits.charCodeAt(k), 16777619) >>> 0;
    let out = '';
    for (let k = 0; k < digits.length; k++) {
      h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
      out += String(h % 10);
    }
    return out;
  });
}

/**
 * Consecutive lines of a dataset come from one host for this many lines, then
 * the next host takes over: a host's log is a run of related lines, as on real
 * machines (a round-robin over hosts would scatter each host's sequence).
 */
const HOST_RUN = 200;

const LEVEL = /\b(FATAL|ERROR|WARN(?:ING)?|INFO|DEBUG|TRACE|error|warn|notice|fatal)\b/;

/**
 * `total` records, `perBody` per request, timestamps evenly over
 * [endMs - spanMs, endMs], round-robin over datasets and `hosts` hosts.
 */
export function loghubBodies(
  total: number,
  perBody: number,
  opts: { endMs?: number; spanMs?: number; hosts?: number; needle?: string; needleEvery?: number; vary?: boolean } = {},
): GeneratedBodies {
  const names = datasetNames();
  const data = names.map((n) => loadRawLines(n));
  const hosts = opts.hosts ?? 50;
  const endMs = opts.endMs ?? Date.now();
  const spanMs = opts.spanMs ?? 86_400_000;
  const startNs = BigInt(endMs - spanMs) * 1_000_000n;
  const stepNs = (BigInt(spanMs) * 1_000_000n) / BigInt(Math.max(1, total));
  const bodies: Buffer[] = [];
  let rawBytes = 0;
  let wireBytes = 0;
  let parts: string[] = [];
  for (let i = 0; i < total; i++) {
    const d = i % names.length;
    const lines = data[d]!;
    const index = Math.floor(i / names.length);
    let line = lines[index % lines.length]!;
    // Replicas of the 2k samples repeat whole lines, which dictionary encoding
    // stores almost for free; `vary` rewrites every number in a replica so each
    // line is unique (ids, ports, counters differ) while the text keeps its shape.
    if (opts.vary) line = varyNumbers(line, Math.floor(index / lines.length));
    // A rare token, a few times in the whole set: what a "needle" search looks for.
    if (opts.needle && opts.needleEvery && i % opts.needleEvery === opts.needleEvery >> 1) line = `${line} ${opts.needle}`;
    rawBytes += Buffer.byteLength(line);
    const level = LEVEL.exec(line)?.[1]?.toLowerCase() ?? 'info';
    const ts = (startNs + BigInt(i) * stepNs).toString();
    parts.push(
      `{"ts":"${ts}","host":"host-${String((d * 7 + Math.floor(index / HOST_RUN)) % hosts).padStart(2, '0')}","service":"${names[d]!.toLowerCase()}","unit":"${names[d]!.toLowerCase()}d","level":"${level}","message":${JSON.stringify(line)}}`,
    );
    if (parts.length === perBody) {
      const body = Buffer.from(parts.join('\n'));
      wireBytes += body.length;
      bodies.push(body);
      parts = [];
    }
  }
  if (parts.length > 0) {
    const body = Buffer.from(parts.join('\n'));
    wireBytes += body.length;
    bodies.push(body);
  }
  return { bodies, lines: total, rawBytes, wireBytes };
}

/** Structured application logs: JSON records with nested attrs, trace ids and numbers. */
export function syntheticJsonBodies(total: number, perBody: number, opts: { endMs?: number; spanMs?: number } = {}): GeneratedBodies {
  const endMs = opts.endMs ?? Date.now();
  const spanMs = opts.spanMs ?? 3_600_000;
  const services = ['api', 'checkout', 'search', 'auth', 'billing', 'worker'];
  const paths = ['/v1/orders', '/v1/users/{id}', '/v1/search', '/healthz', '/v1/cart', '/login'];
  const bodies: Buffer[] = [];
  let parts: string[] = [];
  let rawBytes = 0;
  let wireBytes = 0;
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let i = 0; i < total; i++) {
    const status = rand() < 0.95 ? 200 : rand() < 0.5 ? 500 : 404;
    const svc = services[i % services.length]!;
    const path = paths[Math.floor(rand() * paths.length)]!;
    const ms = Math.round(rand() * 900 * 10) / 10;
    const trace = Math.floor(rand() * 2 ** 52).toString(16).padStart(16, '0') + i.toString(16).padStart(16, '0');
    const message = `${status === 200 ? 'handled' : 'failed'} GET ${path} in ${ms}ms`;
    const line = JSON.stringify({
      ts: new Date(endMs - spanMs + Math.floor((i / total) * spanMs)).toISOString(),
      service: svc,
      host: `pod-${svc}-${i % 7}`,
      level: status === 500 ? 'error' : status === 404 ? 'warning' : 'info',
      message,
      trace_id: trace,
      http: { method: 'GET', path, status, duration_ms: ms },
      user: { id: Math.floor(rand() * 10000) },
    });
    rawBytes += line.length;
    parts.push(line);
    if (parts.length === perBody) {
      const body = Buffer.from(parts.join('\n'));
      wireBytes += body.length;
      bodies.push(body);
      parts = [];
    }
  }
  if (parts.length > 0) {
    const body = Buffer.from(parts.join('\n'));
    wireBytes += body.length;
    bodies.push(body);
  }
  return { bodies, lines: total, rawBytes, wireBytes };
}
