/**
 * Client side of POST /api/v1/logs for commands that send (cairn ingest,
 * cairn import): gzip-compressed batches, retried while the server says it is
 * busy (429/503 with Retry-After), with the server's per-line verdicts summed.
 */
import { gzipSync } from 'node:zlib';
import type { LogRecord } from '../record/record.ts';

const MAX_ATTEMPTS = 20;

export interface LogsSenderOptions {
  /** Server base URL, without a trailing slash. */
  url: string;
  token?: string | undefined;
  /** Query parameters for every request (defaults for text lines: host, unit, ...). */
  query?: URLSearchParams;
  contentType: string;
  /** A line the server refused, numbered from the start of everything sent (1-based). */
  onLineError?: (line: number, reason: string) => void;
}

interface IngestResponse {
  accepted: number;
  rejected: number;
  errors: { line: number; reason: string }[];
}

export class LogsSender {
  readonly totals = { accepted: 0, rejected: 0, requests: 0 };
  private readonly options: LogsSenderOptions;

  constructor(options: LogsSenderOptions) {
    this.options = options;
  }

  /** Sends lines as one request; `offset` is how many lines were sent before them. */
  async send(lines: string[], offset: number): Promise<void> {
    const { url, token, query, contentType, onLineError } = this.options;
    const body = gzipSync(lines.join('\n'));
    const target = `${url}/api/v1/logs${query && query.size > 0 ? `?${query}` : ''}`;
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': contentType, 'content-encoding': 'gzip', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body,
      });
      this.totals.requests++;
      if ((res.status === 429 || res.status === 503) && attempt < MAX_ATTEMPTS) {
        const wait = Number(res.headers.get('retry-after') ?? '1');
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, Math.max(0.1, Number.isFinite(wait) ? wait : 1) * 1000));
        continue;
      }
      const text = await res.text();
      if (!res.ok) throw new Error(`server answered ${res.status}: ${text.slice(0, 500)}`);
      const result = JSON.parse(text) as IngestResponse;
      this.totals.accepted += result.accepted;
      this.totals.rejected += result.rejected;
      for (const e of result.errors) onLineError?.(offset + e.line, e.reason);
      return;
    }
  }
}

/** A normalized record in the JSON shape POST /api/v1/logs reads back into the same record (see normalize/json.ts). */
export function recordForIngest(r: LogRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ts: r.ts.toString(),
    host: r.host,
    unit: r.unit,
    severity: r.severity,
    os: r.os,
    type: r.type,
    message: r.message,
  };
  if (r.service) out.service = r.service;
  if (r.trace_id) out.trace_id = r.trace_id;
  if (r.span_id) out.span_id = r.span_id;
  if (r.correlation_id) out.correlation_id = r.correlation_id;
  if (Object.keys(r.attrs).length > 0) out.attrs = r.attrs;
  if (r.raw !== null) out.raw = r.raw;
  return out;
}
