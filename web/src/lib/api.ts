/** The Cairn HTTP API as the UI uses it (docs/api.md): typed responses, the token, errors with the server's message. */
import { authRequired, getToken } from './auth.ts';
import type { RecordJson } from '../../../src/record/record.ts';
import type { PatternJson } from '../../../src/api/shapes.ts';

export type { PatternJson, RecordJson };


export interface QueryResponse {
  records: RecordJson[];
  stats: { took_ms: number; returned: number; limit: number };
}

export interface StatsResponse {
  from: string;
  to: string;
  step_ms: number;
  by: string | null;
  buckets: { ts: string; count: number; groups?: Record<string, number> }[];
  stats: { took_ms: number };
}

export interface FieldValuesResponse {
  field: string;
  values: { value: string; count: number }[];
}

export interface FieldsResponse {
  fields: { name: string; kind: 'core' | 'attr'; count?: number }[];
  sampled: number;
}


export interface PatternsResponse {
  patterns: PatternJson[];
}

export interface AgentJson {
  agent_id: string;
  hostname: string;
  version: string;
  remote: string;
  streams: number;
  first_seen: string;
  last_seen: string;
  records_accepted: number;
  records_rejected: number;
  backlog_records: number | null;
  lag_ms: number | null;
}

export interface SystemResponse {
  time: string;
  uptime_s: number;
  tenant: string;
  window_s: number;
  ingest: { source: string; records_total: number; bytes_total: number; records_per_s: number | null; bytes_per_s: number | null }[];
  errors: { source: string; reason: string; total: number; in_window: number; last_seen: string | null }[];
  queue: { records: number; bytes: number };
  storage: { rows: number; bytes: number; days: { day: string; rows: number; bytes: number; segments: number }[] };
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export type Params = Record<string, string | number | undefined>;

export function apiUrl(path: string, params: Params = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') p.set(k, String(v));
  const query = p.toString();
  return `${path}${query ? `?${query}` : ''}`;
}

/** GET a JSON endpoint; a 401 opens the login form, other failures throw ApiError with the server's message. */
export async function apiGet<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  const token = getToken();
  const res = await fetch(apiUrl(path, params), {
    headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal,
  });
  if (res.ok) return (await res.json()) as T;
  let body: { error?: string; code?: string } = {};
  try {
    body = await res.json();
  } catch {
    /* not JSON: keep the status text */
  }
  const message = body.error ?? `${res.status} ${res.statusText}`;
  if (res.status === 401) authRequired(message);
  throw new ApiError(res.status, body.code ?? 'http_error', message);
}
