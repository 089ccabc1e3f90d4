/**
 * `npm run bench:otlp`: records/s into the store (acknowledged = durable)
 * through OTLP/HTTP protobuf, OTLP/gRPC and the agent stream, against a real
 * `cairn server` child process with a gRPC listener.
 *
 * The load is application logs as an OpenTelemetry SDK or Collector sends
 * them: one resource (service, host, SDK attributes) per request, records
 * with a body, severity, trace/span ids and four attributes. Requests are
 * encoded before the clock starts, so the client's own encoding cost is not
 * counted; client and server share the machine.
 *
 * For scale, the same records also go through Cairn's own NDJSON API
 * (POST /api/v1/logs) in the same run: the shared machine's load moves all rows.
 *
 * Options: --records N per transport (default 1M; --quick 200k),
 * --per-request N (default 1000), --concurrency N (HTTP requests / gRPC calls /
 * agent streams in parallel, default 4).
 * Results: bench/results/otlp.json and a section of docs/benchmarks.md.
 */
import { parseArgs } from 'node:util';
import { availableParallelism, loadavg } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { protoType } from '../src/sources/grpc/proto.ts';
import { sendAll, type BenchServer } from './lib/server.ts';
import { freePort } from '../test/helpers/server.ts';
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

const REQUEST = protoType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const BATCH = protoType('cairn.agent.v1.RecordBatch');
const ACK = protoType('cairn.agent.v1.BatchAck');

const SERVICES = ['api', 'checkout', 'search', 'auth', 'billing', 'worker'];
const PATHS = ['/v1/orders', '/v1/users/{id}', '/v1/search', '/healthz', '/v1/cart', '/login'];

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

interface Line {
  tsNs: bigint;
  service: string;
  host: string;
  severity: number;
  message: string;
  traceId: Buffer;
  spanId: Buffer;
  method: string;
  path: string;
  status: number;
  durationMs: number;
}

/** The same synthetic application logs for every transport. */
function* lines(total: number, seed: number): Generator<Line> {
  const rand = rng(seed);
  const endNs = BigInt(Date.now()) * 1_000_000n;
  for (let i = 0; i < total; i++) {
    const status = rand() < 0.95 ? 200 : rand() < 0.5 ? 500 : 404;
    const service = SERVICES[i % SERVICES.length]!;
    const path = PATHS[Math.floor(rand() * PATHS.length)]!;
    const durationMs = Math.round(rand() * 9000) / 10;
    const traceId = Buffer.alloc(16);
    traceId.writeUInt32BE(i, 12);
    traceId.writeUInt32BE(Math.floor(rand() * 2 ** 32), 0);
    yield {
      tsNs: endNs - BigInt(total - i) * 1_000_000n,
      service,
      host: `pod-${service}-${i % 7}`,
      severity: status === 500 ? 17 : status === 404 ? 13 : 9,
      message: `${status === 200 ? 'handled' : 'failed'} GET ${path} in ${durationMs}ms`,
      traceId,
      spanId: traceId.subarray(8),
      method: 'GET',
      path,
      status,
      durationMs,
    };
  }
}

const kv = (key: string, value: object) => ({ key, value });

/** OTLP requests: each request one service and host (as one SDK process sends them). */
function otlpRequests(total: number): { bodies: Buffer[]; bytes: number } {
  const bodies: Buffer[] = [];
  let batch: Line[] = [];
  const flush = () => {
    const first = batch[0]!;
    const req = {
      resourceLogs: [
        {
          resource: {
            attributes: [
              kv('service.name', { stringValue: first.service }),
              kv('host.name', { stringValue: first.host }),
              kv('telemetry.sdk.language', { stringValue: 'nodejs' }),
              kv('telemetry.sdk.name', { stringValue: 'opentelemetry' }),
              kv('telemetry.sdk.version', { stringValue: '2.0.0' }),
            ],
          },
          scopeLogs: [
            {
              scope: { name: 'http-logger', version: '1.0.0' },
              logRecords: batch.map((l) => ({
                timeUnixNano: l.tsNs.toString(),
                observedTimeUnixNano: l.tsNs.toString(),
                severityNumber: l.severity,
                body: { stringValue: l.message },
                traceId: l.traceId,
                spanId: l.spanId,
                attributes: [
                  kv('http.request.method', { stringValue: l.method }),
                  kv('url.path', { stringValue: l.path }),
                  kv('http.response.status_code', { intValue: l.status }),
                  kv('duration_ms', { doubleValue: l.durationMs }),
                ],
              })),
            },
          ],
        },
      ],
    };
    bodies.push(Buffer.from(REQUEST.encode(REQUEST.fromObject(req)).finish()));
    batch = [];
  };
  for (const l of lines(total, 7)) {
    if (batch.length > 0 && batch[0]!.service !== l.service && batch.length >= PER_REQUEST) flush();
    batch.push(l);
    if (batch.length >= PER_REQUEST) flush();
  }
  if (batch.length > 0) flush();
  return { bodies, bytes: bodies.reduce((n, b) => n + b.length, 0) };
}

/** Agent RecordBatches with ids 1..n. */
function agentBatches(total: number): { bodies: Buffer[]; bytes: number } {
  const bodies: Buffer[] = [];
  let records: object[] = [];
  const flush = () => {
    bodies.push(Buffer.from(BATCH.encode(BATCH.fromObject({ batchId: String(bodies.length + 1), records, status: { lagMs: 5 } })).finish()));
    records = [];
  };
  for (const l of lines(total, 7)) {
    records.push({
      tsUnixNano: l.tsNs.toString(),
      host: l.host,
      unit: l.service,
      service: l.service,
      severity: l.severity >= 17 ? 3 : l.severity >= 13 ? 4 : 6,
      os: 'linux',
      type: 'application',
      message: l.message,
      traceId: l.traceId.toString('hex'),
      spanId: l.spanId.toString('hex'),
      attrsJson: JSON.stringify({ http: { method: l.method, path: l.path, status: l.status }, duration_ms: l.durationMs }),
    });
    if (records.length >= PER_REQUEST) flush();
  }
  if (records.length > 0) flush();
  return { bodies, bytes: bodies.reduce((n, b) => n + b.length, 0) };
}

/** The same records as NDJSON for POST /api/v1/logs: the baseline row. */
function ndjsonBodies(total: number): { bodies: Buffer[]; bytes: number } {
  const bodies: Buffer[] = [];
  let parts: string[] = [];
  const flush = () => {
    bodies.push(Buffer.from(parts.join('\n')));
    parts = [];
  };
  for (const l of lines(total, 7)) {
    parts.push(
      JSON.stringify({
        ts: l.tsNs.toString(),
        service: l.service,
        host: l.host,
        level: l.severity >= 17 ? 'error' : l.severity >= 13 ? 'warning' : 'info',
        message: l.message,
        trace_id: l.traceId.toString('hex'),
        span_id: l.spanId.toString('hex'),
        http: { method: l.method, path: l.path, status: l.status },
        duration_ms: l.durationMs,
      }),
    );
    if (parts.length >= PER_REQUEST) flush();
  }
  if (parts.length > 0) flush();
  return { bodies, bytes: bodies.reduce((n, b) => n + b.length, 0) };
}

const identity = (b: Buffer) => b;

function rawClient(address: string, path: string, stream: boolean): grpc.Client & Record<string, (...a: any[]) => any> {
  const Ctor = grpc.makeGenericClientConstructor(
    { call: { path, requestStream: stream, responseStream: stream, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    'Raw',
  );
  return new Ctor(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 }) as any;
}

/** Samples the server's RSS every 250 ms while `work` runs. */
async function otlpHttp(server: BenchServer, bodies: Buffer[]): Promise<number> {
  let next = 0;
  let retries = 0;
  const worker = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      for (;;) {
        const res = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: bodies[i] });
        const body = new Uint8Array(await res.arrayBuffer());
        if (res.status === 429 || res.status === 503) {
          retries++;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        if (res.status !== 200 || body.length > 0) throw new Error(`OTLP/HTTP: ${res.status}, ${body.length}-byte response (partial success?)`);
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return retries;
}

async function otlpGrpc(address: string, bodies: Buffer[]): Promise<number> {
  const client = rawClient(address, '/opentelemetry.proto.collector.logs.v1.LogsService/Export', false);
  let next = 0;
  let retries = 0;
  const call = (body: Buffer) =>
    new Promise<Buffer>((resolve, reject) => client.call!(body, (err: grpc.ServiceError | null, res: Buffer) => (err ? reject(err) : resolve(res))));
  const worker = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      for (;;) {
        try {
          const res = await call(bodies[i]!);
          if (res.length > 0) throw new Error('OTLP/gRPC: partial success');
          break;
        } catch (err) {
          const code = (err as grpc.ServiceError).code;
          if (code !== grpc.status.UNAVAILABLE && code !== grpc.status.RESOURCE_EXHAUSTED) throw err;
          retries++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  client.close();
  return retries;
}

/** CONCURRENCY agent streams, each pipelining up to 8 unacknowledged batches and resending refused ones. */
async function agentStreams(address: string, bodies: Buffer[]): Promise<number> {
  const client = rawClient(address, '/cairn.agent.v1.AgentIngest/Stream', true);
  let retries = 0;
  const perStream = Array.from({ length: CONCURRENCY }, (_, s) => bodies.filter((_, i) => i % CONCURRENCY === s));
  await Promise.all(
    perStream.map(
      (mine, s) =>
        new Promise<void>((resolve, reject) => {
          const md = new grpc.Metadata();
          md.set('x-cairn-agent-id', `bench-agent-${s}`);
          const stream = client.call!(md) as grpc.ClientDuplexStream<Buffer, Buffer>;
          const byId = new Map<string, Buffer>();
          for (const b of mine) byId.set(BATCH.toObject(BATCH.decode(b), { longs: String }).batchId as string, b);
          const queue = [...byId.keys()];
          let inFlight = 0;
          let done = 0;
          const pump = () => {
            while (inFlight < 8 && queue.length > 0) {
              inFlight++;
              stream.write(byId.get(queue.shift()!)!);
            }
          };
          stream.on('data', (raw: Buffer) => {
            const ack = ACK.toObject(ACK.decode(raw), { longs: String, enums: String }) as { batchId: string; status: string; retryAfterMs: number; rejected: number };
            inFlight--;
            if (ack.status === 'ACK_STATUS_RETRY') {
              retries++;
              setTimeout(() => {
                queue.push(ack.batchId);
                pump();
              }, 50);
            } else if (ack.status !== 'ACK_STATUS_STORED' || ack.rejected > 0) {
              reject(new Error(`agent stream: unexpected ack ${JSON.stringify(ack)}`));
            } else if (++done === mine.length) {
              stream.end();
            }
            pump();
          });
          stream.on('error', reject);
          stream.on('status', (st: grpc.StatusObject) => (st.code === grpc.status.OK ? resolve() : reject(new Error(st.details))));
          pump();
        }),
    ),
  );
  client.close();
  return retries;
}

async function main(): Promise<void> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  console.log(`encoding ${RECORDS.toLocaleString()} records per transport, ${PER_REQUEST} per request...`);
  const otlp = otlpRequests(RECORDS);
  const agent = agentBatches(RECORDS);
  const ndjson = ndjsonBodies(RECORDS);
  const results: Record<string, unknown> = {
    suite: 'otlp',
    date: new Date().toISOString(),
    machine: {
      cores: availableParallelism(),
      node: process.version,
      load_average_at_start: Math.round(loadavg()[0]! * 10) / 10,
      note: 'client and server share the machine; compare rows of one run (the baseline row moves with the machine\'s load)',
    },
    parameters: { records: RECORDS, records_per_request: PER_REQUEST, concurrency: CONCURRENCY },
  };
  const runs: [string, (server: BenchServer) => Promise<number>, { bodies: Buffer[]; bytes: number }][] = [
    ['otlp_http_protobuf', (server) => otlpHttp(server, otlp.bodies), otlp],
    ['otlp_grpc', () => otlpGrpc(address, otlp.bodies), otlp],
    ['agent_stream', () => agentStreams(address, agent.bodies), agent],
    ['http_ndjson_baseline', async (server) => (await sendAll(server.url, ndjson.bodies, CONCURRENCY)).retries, ndjson],
  ];
  for (const [name, run, load] of runs) {
    results[name] = await runTransport(name, RECORDS, load.bytes, run, { CAIRN_SOURCES__GRPC__LISTEN: address });
  }
  writeResults('otlp', results);
  updateDocSection('otlp', '## OTLP and the agent stream', table(results));
  console.log('wrote bench/results/otlp.json and docs/benchmarks.md');
}

function table(r: Record<string, any>): string {
  const row = transportRow;
  return [
    `Measured ${r.date.slice(0, 10)} on ${r.machine.cores} cores (load average ${r.machine.load_average_at_start} at the start), Node ${r.machine.node}; ${r.machine.note}.`,
    `${r.parameters.records.toLocaleString('en')} application log records per transport, ${r.parameters.records_per_request} per request/batch, ${r.parameters.concurrency} connections or streams; acknowledged = durable. Raw data: \`bench/results/otlp.json\`.`,
    '',
    '| transport | ingest | wire | server peak RSS | retries (429/RETRY) |',
    '|---|---|---|---|---|',
    row('OTLP/HTTP protobuf', r.otlp_http_protobuf),
    row('OTLP/gRPC', r.otlp_grpc),
    row('Agent stream (gRPC, 8 batches in flight per stream)', r.agent_stream),
    row('Baseline: the same records as NDJSON to /api/v1/logs', r.http_ndjson_baseline),
  ].join('\n');
}

await main();
