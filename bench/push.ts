/**
 * `npm run bench:push`: records/s into the store (acknowledged = durable)
 * through the Loki push API (snappy protobuf, and JSON), Elasticsearch _bulk
 * and journald upload, against a real `cairn server` child process.
 *
 * The load is application logs as the shippers send them: Loki pushes grouped
 * into streams by (service, host, level) with trace ids as structured
 * metadata; _bulk create actions with ECS documents; journal export entries
 * streamed in long chunked uploads. Bodies are encoded before the clock
 * starts; client and server share the machine. The same records also go
 * through Cairn's own NDJSON API in the same run, as the baseline row.
 *
 * Options: --records N per transport (default 1M; --quick 200k),
 * --per-request N (default 1000), --concurrency N (default 4).
 * Results: bench/results/push.json and a section of docs/benchmarks.md.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { compressSync } from 'snappy';
import { sendAll, type BenchServer } from './lib/server.ts';
import { transportRow, updateDocSection, writeResults } from './lib/report.ts';
import { runTransport } from './lib/measure.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string' },
    'per-request': { type: 'string' },
    concurrency: { type: 'string' },
    quick: { type: 'boolean' },
  },
});
const RECORDS = Number(values.records ?? (values.quick ? 200_000 : 1_000_000));
const PER_REQUEST = Number(values['per-request'] ?? 1000);
const CONCURRENCY = Number(values.concurrency ?? 4);

const PushRequest = protobuf
  .parse(readFileSync(join(import.meta.dirname, '..', 'src', 'sources', 'loki', 'push.proto'), 'utf8'), { keepCase: true })
  .root.lookupType('logproto.PushRequest');

const SERVICES = ['api', 'checkout', 'search', 'auth', 'billing', 'worker'];
const PATHS = ['/v1/orders', '/v1/users/{id}', '/v1/search', '/healthz', '/v1/cart', '/login'];
const LEVELS = ['info', 'warning', 'error'] as const;
const PRIORITY = { info: 6, warning: 4, error: 3 };

interface Line {
  tsNs: bigint;
  service: string;
  host: string;
  level: (typeof LEVELS)[number];
  message: string;
  traceId: string;
  spanId: string;
  path: string;
  status: number;
}

function* lines(total: number): Generator<Line> {
  let s = 7;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff), s / 0x7fffffff);
  const endNs = BigInt(Date.now()) * 1_000_000n;
  for (let i = 0; i < total; i++) {
    const status = rand() < 0.95 ? 200 : rand() < 0.5 ? 500 : 404;
    const service = SERVICES[i % SERVICES.length]!;
    const path = PATHS[Math.floor(rand() * PATHS.length)]!;
    const ms = Math.round(rand() * 9000) / 10;
    const traceId = (i.toString(16) + Math.floor(rand() * 2 ** 32).toString(16)).padStart(32, '0');
    yield {
      tsNs: endNs - BigInt(total - i) * 1_000_000n,
      service,
      host: `pod-${service}-${i % 7}`,
      level: status === 500 ? 'error' : status === 404 ? 'warning' : 'info',
      message: `${status === 200 ? 'handled' : 'failed'} GET ${path} in ${ms}ms`,
      traceId,
      spanId: traceId.slice(16),
      path,
      status,
    };
  }
}

function* requests(total: number): Generator<Line[]> {
  let batch: Line[] = [];
  for (const l of lines(total)) {
    batch.push(l);
    if (batch.length >= PER_REQUEST) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

interface Load {
  bodies: Buffer[];
  bytes: number;
}
const load = (bodies: Buffer[]): Load => ({ bodies, bytes: bodies.reduce((n, b) => n + b.length, 0) });

/** Loki pushes: the lines of a request grouped into streams by their labels, as Promtail batches them. */
function lokiStreams(batch: Line[]): { labels: Record<string, string>; lines: Line[] }[] {
  const streams = new Map<string, { labels: Record<string, string>; lines: Line[] }>();
  for (const l of batch) {
    const key = `${l.service}|${l.host}|${l.level}`;
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { labels: { service_name: l.service, host: l.host, level: l.level, env: 'prod' }, lines: [] }));
    s.lines.push(l);
  }
  return [...streams.values()];
}

function lokiProtobuf(total: number): Load {
  const bodies: Buffer[] = [];
  for (const batch of requests(total)) {
    const streams = lokiStreams(batch).map((s) => ({
      labels: `{${Object.entries(s.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(', ')}}`,
      entries: s.lines.map((l) => ({
        timestamp: { seconds: Number(l.tsNs / 1_000_000_000n), nanos: Number(l.tsNs % 1_000_000_000n) },
        line: l.message,
        structuredMetadata: [
          { name: 'trace_id', value: l.traceId },
          { name: 'span_id', value: l.spanId },
          { name: 'http_path', value: l.path },
        ],
      })),
    }));
    bodies.push(compressSync(Buffer.from(PushRequest.encode(PushRequest.create({ streams })).finish())));
  }
  return load(bodies);
}

function lokiJson(total: number): Load {
  const bodies: Buffer[] = [];
  for (const batch of requests(total)) {
    const streams = lokiStreams(batch).map((s) => ({
      stream: s.labels,
      values: s.lines.map((l) => [l.tsNs.toString(), l.message, { trace_id: l.traceId, span_id: l.spanId, http_path: l.path }]),
    }));
    bodies.push(Buffer.from(JSON.stringify({ streams })));
  }
  return load(bodies);
}

function esBulk(total: number): Load {
  const bodies: Buffer[] = [];
  const action = JSON.stringify({ create: { _index: 'logs-app-default' } });
  for (const batch of requests(total)) {
    const parts: string[] = [];
    for (const l of batch) {
      parts.push(action);
      parts.push(
        JSON.stringify({
          '@timestamp': new Date(Number(l.tsNs / 1_000_000n)).toISOString(),
          message: l.message,
          log: { level: l.level },
          host: { name: l.host },
          service: { name: l.service },
          trace: { id: l.traceId },
          span: { id: l.spanId },
          url: { path: l.path },
          http: { response: { status_code: l.status } },
          event: { dataset: `${l.service}.access` },
        }),
      );
    }
    bodies.push(Buffer.from(parts.join('\n') + '\n'));
  }
  return load(bodies);
}

/** Journal export entries; CONCURRENCY long uploads, each streamed in 64 KiB chunks. */
function journalUploads(total: number): Load {
  const uploads: Buffer[][] = Array.from({ length: CONCURRENCY }, () => []);
  let i = 0;
  for (const l of lines(total)) {
    const fields = [
      `__REALTIME_TIMESTAMP=${l.tsNs / 1000n}`,
      `_HOSTNAME=${l.host}`,
      `SYSLOG_IDENTIFIER=${l.service}`,
      `PRIORITY=${PRIORITY[l.level]}`,
      `MESSAGE=${l.message}`,
      `TRACE_ID=${l.traceId}`,
      `SPAN_ID=${l.spanId}`,
      `HTTP_PATH=${l.path}`,
    ];
    uploads[i++ % CONCURRENCY]!.push(Buffer.from(fields.join('\n') + '\n\n'));
  }
  return load(uploads.map((entries) => Buffer.concat(entries)));
}

function ndjson(total: number): Load {
  const bodies: Buffer[] = [];
  for (const batch of requests(total)) {
    bodies.push(
      Buffer.from(
        batch
          .map((l) =>
            JSON.stringify({ ts: l.tsNs.toString(), service: l.service, host: l.host, level: l.level, message: l.message, trace_id: l.traceId, span_id: l.spanId, http_path: l.path, env: 'prod' }),
          )
          .join('\n'),
      ),
    );
  }
  return load(bodies);
}

/** Posts bodies with CONCURRENCY keep-alive requests; retries 429/503; `ok` checks the answer. */
async function postAll(url: string, bodies: Buffer[], contentType: string, ok: (status: number, text: string) => boolean): Promise<number> {
  let next = 0;
  let retries = 0;
  const worker = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      for (;;) {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: bodies[i] });
        const text = await res.text();
        if (res.status === 429 || res.status === 503) {
          retries++;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        if (!ok(res.status, text)) throw new Error(`${url}: ${res.status} ${text.slice(0, 300)}`);
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return retries;
}

/** One chunked upload per body, as systemd-journal-upload streams a journal. */
async function uploadAll(url: string, bodies: Buffer[]): Promise<number> {
  const one = (body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const req = request(`${url}/upload`, { method: 'POST', headers: { 'content-type': 'application/vnd.fdo.journal', 'transfer-encoding': 'chunked' } });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`upload: ${res.statusCode} ${text}`))));
      });
      req.on('error', reject);
      void (async () => {
        for (let i = 0; i < body.length; i += 65536) {
          if (!req.write(body.subarray(i, i + 65536))) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })();
    });
  await Promise.all(bodies.map(one));
  return 0;
}

async function main(): Promise<void> {
  console.log(`encoding ${RECORDS.toLocaleString()} records per transport, ${PER_REQUEST} per request...`);
  const loads = {
    loki_protobuf_snappy: lokiProtobuf(RECORDS),
    loki_json: lokiJson(RECORDS),
    elastic_bulk: esBulk(RECORDS),
    journald_upload: journalUploads(RECORDS),
    http_ndjson_baseline: ndjson(RECORDS),
  };
  const senders: Record<keyof typeof loads, (server: BenchServer, l: Load) => Promise<number>> = {
    loki_protobuf_snappy: (server, l) => postAll(`${server.url}/loki/api/v1/push`, l.bodies, 'application/x-protobuf', (status) => status === 204),
    loki_json: (server, l) => postAll(`${server.url}/loki/api/v1/push`, l.bodies, 'application/json', (status) => status === 204),
    elastic_bulk: (server, l) => postAll(`${server.url}/_bulk`, l.bodies, 'application/x-ndjson', (status, text) => status === 200 && text.includes('"errors":false')),
    journald_upload: (server, l) => uploadAll(server.url, l.bodies),
    http_ndjson_baseline: async (server, l) => (await sendAll(server.url, l.bodies, CONCURRENCY)).retries,
  };
  const results: Record<string, unknown> = {
    suite: 'push',
    date: new Date().toISOString(),
    machine: {
      cores: availableParallelism(),
      node: process.version,
      load_average_at_start: Math.round(loadavg()[0]! * 10) / 10,
      note: "client and server share the machine; compare rows of one run (the baseline row moves with the machine's load)",
    },
    parameters: { records: RECORDS, records_per_request: PER_REQUEST, concurrency: CONCURRENCY, journald: `${CONCURRENCY} streamed uploads of ${RECORDS / CONCURRENCY} entries` },
  };
  for (const name of Object.keys(loads) as (keyof typeof loads)[]) {
    results[name] = await runTransport(name, RECORDS, loads[name].bytes, (server) => senders[name](server, loads[name]));
  }
  writeResults('push', results);
  updateDocSection('push', '## Loki push, Elasticsearch _bulk, journald upload', table(results));
  console.log('wrote bench/results/push.json and docs/benchmarks.md');
}

function table(r: Record<string, any>): string {
  const row = transportRow;
  return [
    `Measured ${r.date.slice(0, 10)} on ${r.machine.cores} cores (load average ${r.machine.load_average_at_start} at the start), Node ${r.machine.node}; ${r.machine.note}.`,
    `${r.parameters.records.toLocaleString('en')} application log records per transport, ${r.parameters.records_per_request} per request, ${r.parameters.concurrency} connections (journald: ${r.parameters.journald}); acknowledged = durable. Raw data: \`bench/results/push.json\`.`,
    '',
    '| transport | ingest | wire | server peak RSS | retries (429) |',
    '|---|---|---|---|---|',
    row('Loki push, protobuf + snappy', r.loki_protobuf_snappy),
    row('Loki push, JSON', r.loki_json),
    row('Elasticsearch _bulk (create, ECS documents)', r.elastic_bulk),
    row('journald upload (export format, chunked)', r.journald_upload),
    row('Baseline: the same records as NDJSON to /api/v1/logs', r.http_ndjson_baseline),
  ].join('\n');
}

await main();
