/**
 * The OpenTelemetry JS SDK's own OTLP log exporters against a real Cairn:
 * OTLP/HTTP JSON, OTLP/HTTP protobuf (plain and gzip) and OTLP/gRPC, with
 * tokens; the records are then read back through /api/v1/query.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { OTLPLogExporter as JsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as GrpcExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { freePort, query, startTestServer, type TestServer } from './helpers/server.ts';

let server: TestServer;
let grpcAddress: string;
let ingestToken: string;
let readHeaders: Record<string, string>;

before(async () => {
  const port = await freePort();
  grpcAddress = `127.0.0.1:${port}`;
  server = await startTestServer({ auth: { mode: 'token' }, sources: { grpc: { listen: grpcAddress } } });
  ingestToken = server.auth.tokens.create({ tenant: 'acme', role: 'ingest' }).token;
  readHeaders = { authorization: `Bearer ${server.auth.tokens.create({ tenant: 'acme', role: 'read' }).token}` };
});
after(() => server.stop());

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

/** Emits one log through a real LoggerProvider with the exporter, the way an application does. */
async function emit(exporter: LogRecordExporter, body: string): Promise<void> {
  const provider = new LoggerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': 'checkout', 'host.name': 'web-7', 'os.type': 'linux', 'deployment.environment': 'prod' })),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('payments-logger', '3.1.4');
  const ctx = trace.setSpanContext(context.active(), { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
  logger.emit({
    context: ctx,
    severityNumber: SeverityNumber.WARN,
    severityText: 'WARN',
    body,
    attributes: { 'http.request.method': 'POST', 'order.id': 12345, retry: true },
  });
  await provider.forceFlush();
  await provider.shutdown();
}

async function findOne(message: string): Promise<any> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await query(server.url, { q: `"${message}"`, from: 'now-1h' }, readHeaders);
    assert.equal(res.status, 200);
    if (res.body.records.length > 0) {
      assert.equal(res.body.records.length, 1, `exactly one record for ${message}`);
      return res.body.records[0];
    }
    if (Date.now() > deadline) assert.fail(`"${message}" was not stored`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function assertMapped(r: any, message: string): void {
  assert.equal(r.message, message);
  assert.equal(r.tenant, 'acme', 'tenant from the token');
  assert.equal(r.service, 'checkout');
  assert.equal(r.unit, 'checkout');
  assert.equal(r.host, 'web-7');
  assert.equal(r.os, 'linux');
  assert.equal(r.level, 'warning');
  assert.equal(r.trace_id, TRACE_ID);
  assert.equal(r.span_id, SPAN_ID);
  assert.deepEqual(r.attrs.http, { request: { method: 'POST' } });
  assert.equal(r.attrs.order.id, 12345);
  assert.equal(r.attrs.retry, true);
  assert.equal(r.attrs.scope.name, 'payments-logger');
  assert.equal(r.attrs.scope.version, '3.1.4');
  assert.equal(r.attrs.resource.deployment.environment, 'prod');
  assert.equal(r.attrs.resource.telemetry.sdk.language, 'nodejs', 'the SDK default resource attributes are kept');
  assert.ok(Math.abs(Date.parse(r.ts) - Date.now()) < 60_000);
}

test('OTLP/HTTP JSON exporter', async () => {
  await emit(new JsonExporter({ url: `${server.url}/v1/logs`, headers: { authorization: `Bearer ${ingestToken}` } }), 'sdk json export');
  assertMapped(await findOne('sdk json export'), 'sdk json export');
});

test('OTLP/HTTP protobuf exporter, plain and gzip', async () => {
  await emit(new ProtoExporter({ url: `${server.url}/v1/logs`, headers: { authorization: `Bearer ${ingestToken}` } }), 'sdk protobuf export');
  assertMapped(await findOne('sdk protobuf export'), 'sdk protobuf export');
  await emit(
    new ProtoExporter({ url: `${server.url}/v1/logs`, headers: { 'x-cairn-token': ingestToken }, compression: CompressionAlgorithm.GZIP }),
    'sdk gzip protobuf export',
  );
  assertMapped(await findOne('sdk gzip protobuf export'), 'sdk gzip protobuf export');
});

test('OTLP/gRPC exporter', async () => {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${ingestToken}`);
  await emit(new GrpcExporter({ url: `http://${grpcAddress}`, metadata }), 'sdk grpc export');
  assertMapped(await findOne('sdk grpc export'), 'sdk grpc export');
  await emit(new GrpcExporter({ url: `http://${grpcAddress}`, metadata, compression: CompressionAlgorithm.GZIP }), 'sdk gzip grpc export');
  assertMapped(await findOne('sdk gzip grpc export'), 'sdk gzip grpc export');
});

test('the standard OTEL_EXPORTER_OTLP_* environment variables, as docs/protocols/otlp.md shows them', async () => {
  const saved = { ...process.env };
  try {
    process.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT = `${server.url}/v1/logs`;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = `authorization=Bearer%20${ingestToken}`;
    await emit(new ProtoExporter(), 'sdk env configured export');
    process.env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT = `http://${grpcAddress}`;
    await emit(new GrpcExporter(), 'sdk env configured grpc export');
  } finally {
    process.env = saved;
  }
  assertMapped(await findOne('sdk env configured export'), 'sdk env configured export');
  assertMapped(await findOne('sdk env configured grpc export'), 'sdk env configured grpc export');
});

test('exports without a valid token store nothing', async () => {
  await emit(new ProtoExporter({ url: `${server.url}/v1/logs`, headers: { authorization: 'Bearer cairn_000000000000_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' } }), 'sdk refused http export');
  await emit(new GrpcExporter({ url: `http://${grpcAddress}` }), 'sdk refused grpc export');
  await emit(new JsonExporter({ url: `${server.url}/v1/logs`, headers: { authorization: `Bearer ${ingestToken}` } }), 'sdk marker after rejected');
  await findOne('sdk marker after rejected'); // stored, so the two before it had their answers
  const res = await query(server.url, { q: 'refused', from: 'now-1h' }, readHeaders);
  assert.deepEqual(res.body.records, []);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /log_errors_total\{source="otlp_http",tenant="-",reason="unauthorized"\} [1-9]/);
  assert.match(metrics, /log_errors_total\{source="otlp_grpc",tenant="-",reason="unauthorized"\} [1-9]/);
});
