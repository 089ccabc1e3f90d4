/**
 * OTLP at the protocol level, with raw requests: responses and partial
 * success, every kind of bad input (random, truncated, oversized, wrong type,
 * no token), backpressure (429 + Retry-After, RESOURCE_EXHAUSTED + RetryInfo),
 * and that none of it disturbs the requests next to it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { protoType } from '../src/sources/grpc/proto.ts';
import { freePort, query, startTestServer, type TestServer } from './helpers/server.ts';
import { grpcClient, metadata, retryDelaySeconds, unary, type AnyClient } from './helpers/grpc.ts';

const REQUEST = protoType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const RESPONSE = protoType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
const STATUS = protoType('google.rpc.Status');
const LOGS_SERVICE = 'opentelemetry.proto.collector.logs.v1.LogsService';

/** An ExportLogsServiceRequest (protobuf-JSON-like input) with one resource and scope. */
function request(logs: Record<string, unknown>[], service = 'proto-test'): Record<string, unknown> {
  return {
    resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeLogs: [{ scope: { name: 'raw' }, logRecords: logs }] }],
  };
}
const encode = (req: Record<string, unknown>) => Buffer.from(REQUEST.encode(REQUEST.fromObject(req)).finish());
const body = (text: string) => ({ body: { stringValue: text } });

/** A small deterministic PRNG, so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function post(url: string, payload: Buffer | string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${url}/v1/logs`, { method: 'POST', headers, body: payload });
}

const PB = { 'content-type': 'application/x-protobuf' };
const JS = { 'content-type': 'application/json' };

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

describe('OTLP/HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ ingest: { max_line_bytes: 1024, max_body_bytes: '64KiB', max_past: '30d', timestamp_action: 'reject' } });
  });
  after(() => s.stop());

  test('success: an empty ExportLogsServiceResponse in the request encoding, after the records are stored', async () => {
    let res = await post(s.url, encode(request([body('otlp-http-ok-pb')])), PB);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
    assert.equal((await res.arrayBuffer()).byteLength, 0, 'no partial_success on full success');
    assert.equal((await query(s.url, { q: 'otlp-http-ok-pb' })).body.records.length, 1, 'queryable as soon as the response arrives');

    res = await post(s.url, JSON.stringify(request([body('otlp-http-ok-json')])), JS);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(await res.json(), {});
    res = await post(s.url, gzipSync(JSON.stringify(request([body('otlp-http-ok-gzip')]))), { ...JS, 'content-encoding': 'gzip' });
    assert.equal(res.status, 200);
    assert.equal((await query(s.url, { q: 'otlp-http-ok-json OR otlp-http-ok-gzip' })).body.records.length, 2);
  });

  test('partial success: rejected_log_records and the first reason; the rest is stored', async () => {
    const logs = [
      body('partial-keep-1'),
      body('partial-long ' + 'x'.repeat(2000)),
      { ...body('partial-old'), timeUnixNano: '946684800000000000' },
      body('partial-keep-2'),
    ];
    let res = await post(s.url, encode(request(logs)), PB);
    assert.equal(res.status, 200);
    const decoded = RESPONSE.toObject(RESPONSE.decode(new Uint8Array(await res.arrayBuffer())), { longs: String });
    assert.deepEqual(decoded, {
      partialSuccess: { rejectedLogRecords: '2', errorMessage: 'log record 1: body is longer than 1024 bytes (ingest.max_line_bytes) (first of 2 rejected records)' },
    });
    res = await post(s.url, JSON.stringify(request([{ ...body('partial-json-old'), timeUnixNano: '946684800000000000' }])), JS);
    assert.deepEqual(await res.json(), {
      partialSuccess: { rejectedLogRecords: '1', errorMessage: 'log record 0: timestamp is outside the accepted window (ingest.max_future, ingest.max_past)' },
    });
    assert.deepEqual((await query(s.url, { q: 'partial', order: 'asc' })).body.records.map((r: any) => r.message), ['partial-keep-1', 'partial-keep-2']);
    const m = await metricsText(s.url);
    assert.match(m, /log_errors_total\{source="otlp_http",tenant="default",reason="line_too_long"\} 1/);
    assert.match(m, /log_errors_total\{source="otlp_http",tenant="default",reason="timestamp_out_of_range"\} 2/);
  });

  test('random and truncated protobuf: 400 with a google.rpc.Status naming the problem, never a crash; neighbours unaffected', async () => {
    const valid = encode(request([body('fuzz-ok-a'), body('fuzz-ok-b'), { ...body('fuzz-ok-c'), attributes: [{ key: 'k', value: { stringValue: 'v' } }] }]));
    const rand = prng(42);
    const inputs: Buffer[] = [];
    for (let i = 0; i < 40; i++) inputs.push(Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 300) }, () => Math.floor(rand() * 256))));
    for (let cut = 1; cut < valid.length; cut += 3) inputs.push(valid.subarray(0, cut));
    let bad = 0;
    // Each bad body races a good request on another connection.
    for (const input of inputs) {
      const [res, good] = await Promise.all([post(s.url, input, PB), post(s.url, encode(request([body('fuzz-neighbour')])), PB)]);
      assert.equal(good.status, 200, 'a good request next to a bad one is served');
      await good.arrayBuffer();
      assert.ok(res.status === 200 || res.status === 400, `status ${res.status} for ${input.toString('hex').slice(0, 60)}`);
      const raw = new Uint8Array(await res.arrayBuffer());
      if (res.status === 400) {
        bad++;
        const status = STATUS.toObject(STATUS.decode(raw)) as { code: number; message: string };
        assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
        assert.match(status.message, /^the body is not a valid protobuf ExportLogsServiceRequest: /);
      }
    }
    assert.ok(bad > inputs.length / 2, `most malformed bodies are refused (${bad} of ${inputs.length})`);
    assert.match(await metricsText(s.url), new RegExp(`log_errors_total\\{source="otlp_http",tenant="default",reason="invalid_protobuf"\\} ${bad}\\b`));
    assert.equal((await query(s.url, { q: 'fuzz-neighbour', limit: '1000' })).body.records.length, inputs.length);
  });

  test('mutated OTLP/JSON (wrong types anywhere in the tree): 200 or a 400 that says why, never a 500', async () => {
    const base = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-fuzz' } }] },
          scopeLogs: [
            {
              scope: { name: 's', attributes: [{ key: 'k', value: { arrayValue: { values: [{ intValue: '1' }] } } }] },
              logRecords: [{ timeUnixNano: '1700000000000000000', severityNumber: 9, body: { kvlistValue: { values: [{ key: 'a', value: { boolValue: true } }] } }, traceId: '00'.repeat(16), attributes: [{ key: 'x', value: { doubleValue: 1.5 } }] }],
            },
          ],
        },
      ],
    };
    const rand = prng(2024);
    const replacements: unknown[] = [null, 0, -1, 1e308, 'x', '', [], {}, true, 'zz', { stringValue: 5 }, [null], '18446744073709551616'];
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, path: (string | number)[]) => {
      if (path.length > 0) paths.push(path);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    };
    walk(base, []);
    const codes = new Set<number>();
    for (let i = 0; i < 80; i++) {
      const doc = structuredClone(base) as any;
      const path = paths[Math.floor(rand() * paths.length)]!;
      let node = doc;
      for (const p of path.slice(0, -1)) node = node[p];
      node[path.at(-1)!] = replacements[Math.floor(rand() * replacements.length)];
      const res = await post(s.url, JSON.stringify(doc), JS);
      codes.add(res.status);
      const answer = (await res.json()) as { code?: number; message?: string };
      assert.ok(res.status === 200 || res.status === 400, `${res.status} for ${JSON.stringify(doc)}`);
      if (res.status === 400) {
        assert.equal(answer.code, grpc.status.INVALID_ARGUMENT);
        assert.match(answer.message!, /resourceLogs|not a valid OTLP\/JSON|traceId/);
      }
    }
    assert.deepEqual([...codes].sort(), [200, 400]);
  });

  test('bad JSON, wrong media type, oversized and compressed-bomb bodies', async () => {
    let res = await post(s.url, '{"resourceLogs": [', JS);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const jsonStatus = (await res.json()) as { code: number; message: string };
    assert.equal(jsonStatus.code, grpc.status.INVALID_ARGUMENT);
    assert.match(jsonStatus.message, /the body is not valid JSON/);

    res = await post(s.url, '{"resourceLogs": [{"scopeLogs": 3}]}', JS);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /scopeLogs: array expected/);

    res = await post(s.url, 'hello', { 'content-type': 'text/plain' });
    assert.equal(res.status, 415);
    assert.match(((await res.json()) as { message: string }).message, /send application\/x-protobuf or application\/json/);

    res = await post(s.url, Buffer.alloc(100 * 1024, 1), PB);
    assert.equal(res.status, 413, 'over ingest.max_body_bytes on the wire');
    assert.equal(STATUS.decode(new Uint8Array(await res.arrayBuffer())).toJSON().code, grpc.status.RESOURCE_EXHAUSTED);

    const bomb = gzipSync(encode(request([body('b'.repeat(900))])).toString('latin1').repeat(200));
    res = await post(s.url, bomb, { ...PB, 'content-encoding': 'gzip' });
    assert.equal(res.status, 413, 'over ingest.max_body_bytes once decompressed');
    const status = STATUS.toObject(STATUS.decode(new Uint8Array(await res.arrayBuffer()))) as { message: string };
    assert.match(status.message, /decompresses to more than 65536 bytes/);
  });
});

describe('OTLP with tokens and limits, over HTTP and gRPC', () => {
  let s: TestServer;
  let client: AnyClient;
  let ingest: string;
  let read: string;
  before(async () => {
    const port = await freePort();
    s = await startTestServer({
      auth: { mode: 'token' },
      ingest: { tenant_rate_limit: 1, tenant_burst: 20, max_line_bytes: 1024 },
      sources: { grpc: { listen: `127.0.0.1:${port}`, max_message_bytes: '256KiB', max_connections: 4 } },
    });
    ingest = s.auth.tokens.create({ tenant: 'limited', role: 'ingest' }).token;
    read = s.auth.tokens.create({ tenant: 'limited', role: 'read' }).token;
    client = grpcClient(LOGS_SERVICE, `127.0.0.1:${port}`);
  });
  after(async () => {
    client.close();
    await s.stop();
  });
  const auth = (token: string) => metadata({ authorization: `Bearer ${token}` });

  test('HTTP: no token 401, a read token 403, both as google.rpc.Status', async () => {
    let res = await post(s.url, encode(request([body('x')])), PB);
    assert.equal(res.status, 401);
    assert.equal(STATUS.decode(new Uint8Array(await res.arrayBuffer())).toJSON().code, grpc.status.UNAUTHENTICATED);
    res = await post(s.url, JSON.stringify(request([body('x')])), { ...JS, authorization: `Bearer ${read}` });
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), { code: grpc.status.PERMISSION_DENIED, message: 'this token\'s role "read" cannot do this (needs "ingest")' });
  });

  test('gRPC: UNAUTHENTICATED without a token, PERMISSION_DENIED with a read token, partial success with an ingest token', async () => {
    await assert.rejects(unary(client, 'Export', request([body('x')])), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED && /token is required/.test(e.details));
    await assert.rejects(unary(client, 'Export', request([body('x')]), auth(read)), (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED);
    const res = await unary<any>(client, 'Export', request([body('grpc-partial-ok'), body('y'.repeat(2000))]), metadata({ 'x-cairn-token': ingest }));
    assert.deepEqual(res, { partialSuccess: { rejectedLogRecords: '1', errorMessage: 'log record 1: body is longer than 1024 bytes (ingest.max_line_bytes)' } });
    const found = await query(s.url, { q: 'grpc-partial-ok' }, { authorization: `Bearer ${read}` });
    assert.equal(found.body.records[0].tenant, 'limited');
  });

  test('gRPC: an oversized message is RESOURCE_EXHAUSTED (without RetryInfo), garbage is INVALID_ARGUMENT; the channel keeps working', async () => {
    const big = request([body('z'.repeat(300 * 1024))]);
    await assert.rejects(unary(client, 'Export', big, auth(ingest)), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.equal(retryDelaySeconds(e), undefined, 'not retryable: the same message would fail again');
      return true;
    });
    // A client that sends raw bytes as the request.
    const Raw = grpc.makeGenericClientConstructor(
      { Export: { path: `/${LOGS_SERVICE}/Export`, requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
      'Raw',
    );
    const raw = new Raw(client.getChannel().getTarget().replace(/^dns:/, ''), grpc.credentials.createInsecure()) as unknown as AnyClient;
    const rand = prng(7);
    for (let i = 0; i < 20; i++) {
      const junk = Buffer.from(Array.from({ length: 5 + Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)));
      const outcome = await unary(raw, 'Export', junk, auth(ingest)).then(
        () => 'ok',
        (e: grpc.ServiceError) => e.code,
      );
      assert.ok(outcome === 'ok' || outcome === grpc.status.INVALID_ARGUMENT, `outcome ${outcome}`);
    }
    await assert.rejects(unary(raw, 'Export', Buffer.from([0x0a, 0xff, 0xff, 0x01]), auth(ingest)), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
      assert.match(e.details, /not a valid protobuf ExportLogsServiceRequest/);
      return true;
    });
    raw.close();
    assert.deepEqual(await unary(client, 'Export', request([body('after-garbage')]), auth(ingest)), { partialSuccess: null });
  });

  test('over the tenant rate: HTTP 429 + Retry-After, gRPC RESOURCE_EXHAUSTED + RetryInfo', async () => {
    const many = request(Array.from({ length: 20 }, (_, i) => body(`rate-${i}`)));
    // The bucket holds 20; whatever the tests above used, two full batches exceed it.
    await post(s.url, encode(many), { ...PB, authorization: `Bearer ${ingest}` });
    const res = await post(s.url, encode(many), { ...PB, authorization: `Bearer ${ingest}` });
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    const status = STATUS.toObject(STATUS.decode(new Uint8Array(await res.arrayBuffer()))) as { code: number; message: string };
    assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(status.message, /over its rate limit/);
    await assert.rejects(unary(client, 'Export', many, auth(ingest)), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.ok((retryDelaySeconds(e) ?? 0) >= 1, 'RetryInfo makes it retryable');
      return true;
    });
    assert.match(await metricsText(s.url), /log_errors_total\{source="otlp_grpc",tenant="limited",reason="rate_limited"\} 20/);
  });

  test('connections beyond sources.grpc.max_connections are closed at once and counted', async () => {
    const address = client.getChannel().getTarget().replace(/^dns:/, '');
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    const sockets = await Promise.all(
      Array.from({ length: 6 }, () =>
        new Promise<{ closed: Promise<void> }>((resolve) => {
          const sock = connect(port, host, () => resolve({ closed: new Promise((r) => sock.once('close', () => r())) }));
          sock.on('error', () => undefined);
          setTimeout(() => sock.destroy(), 1500).unref();
        }),
      ),
    );
    const closedEarly = await Promise.all(sockets.map((s) => Promise.race([s.closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 500))])));
    // One connection is the test's own gRPC channel; 4 are allowed.
    assert.ok(closedEarly.filter(Boolean).length >= 3, `at least 3 of 6 extra connections dropped (${closedEarly})`);
    assert.match(await metricsText(s.url), /log_errors_total\{source="grpc",tenant="-",reason="too_many_connections"\} [3-9]/);
    await Promise.all(sockets.map((s) => s.closed));
    assert.deepEqual(await unary(client, 'Export', request([]), auth(ingest)), { partialSuccess: null }, 'the existing channel is unaffected');
  });
});

describe('gRPC listener and open local mode', () => {
  test('auth.mode auto: HTTP on loopback is open, a gRPC listener on all interfaces needs a token', async () => {
    const port = await freePort();
    const s = await startTestServer({ sources: { grpc: { listen: `0.0.0.0:${port}` } } });
    const client = grpcClient(LOGS_SERVICE, `127.0.0.1:${port}`);
    try {
      assert.equal(s.auth.mode, 'open');
      await assert.rejects(unary(client, 'Export', request([body('x')])), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
      const token = s.auth.tokens.create({ tenant: 'acme', role: 'ingest' }).token;
      assert.deepEqual(await unary(client, 'Export', request([body('grpc-token-on-public')]), metadata({ authorization: `Bearer ${token}` })), { partialSuccess: null });
    } finally {
      client.close();
      await s.stop();
    }
  });

  test('auth.mode open with a non-loopback gRPC listener refuses to start', async () => {
    const port = await freePort();
    await assert.rejects(startTestServer({ auth: { mode: 'open' }, sources: { grpc: { listen: `0.0.0.0:${port}` } } }), /only allowed on loopback addresses, but sources.grpc.listen is 0.0.0.0/);
  });
});
