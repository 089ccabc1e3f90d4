/**
 * The agent protocol with a real grpc-js client: acks only when durable,
 * duplicates not stored twice, refusal acks under a rate limit and a tiny
 * queue, authentication, garbage on one stream while another works, per-key
 * configs with a watcher that sees changes, agent status, and a clean end of
 * streams at shutdown.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { AgentConfigStore } from '../src/sources/agent/configs.ts';
import { protoType } from '../src/sources/grpc/proto.ts';
import { freePort, query, startTestServer, tempDir, type TestServer } from './helpers/server.ts';
import { AgentStream, grpcClient, metadata, unary, type AnyClient } from './helpers/grpc.ts';

const SERVICE = 'cairn.agent.v1.AgentIngest';

interface Setup {
  server: TestServer;
  client: AnyClient;
  address: string;
  token(role: 'ingest' | 'read' | 'admin', tenant?: string): string;
}

async function setup(overrides: Record<string, unknown> = {}, dataDir?: string): Promise<Setup> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const sources = (overrides.sources ?? {}) as Record<string, Record<string, unknown>>;
  const server = await startTestServer({ auth: { mode: 'token' }, ...overrides, sources: { ...sources, grpc: { ...sources.grpc, listen: address } } }, dataDir);
  return {
    server,
    address,
    client: grpcClient(SERVICE, address),
    token: (role, tenant = 'fleet') => server.auth.tokens.create({ tenant, role }).token,
  };
}

const agentMd = (token: string, agentId = 'agent-1', extra: Record<string, string> = {}) =>
  metadata({ authorization: `Bearer ${token}`, 'x-cairn-agent-id': agentId, ...extra });

const rec = (message: string, extra: Record<string, unknown> = {}) => ({ message, host: 'srv-1', unit: 'nginx.service', os: 'linux', type: 'system', ...extra });

async function search(s: Setup, readToken: string, q: string): Promise<any[]> {
  const res = await query(s.server.url, { q, from: '2000-01-01T00:00:00Z', limit: '1000' }, { authorization: `Bearer ${readToken}` });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.records;
}

describe('agent stream', () => {
  let s: Setup;
  let ingest: string;
  let read: string;
  before(async () => {
    s = await setup({ ingest: { max_line_bytes: 2048 } });
    ingest = s.token('ingest');
    read = s.token('read');
  });
  after(async () => {
    s.client.close();
    await s.server.stop();
  });

  test('a batch is acknowledged only once its records are queryable; every field maps', async () => {
    const stream = new AgentStream(s.client, agentMd(ingest, 'agent-map', { 'x-cairn-hostname': 'srv-1.example', 'x-cairn-agent-version': '0.9.1' }));
    stream.send(
      1,
      [
        rec('agent durable one', {
          tsUnixNano: '1700000000123456789',
          service: 'web',
          severity: 3,
          traceId: 't-1',
          spanId: 's-1',
          correlationId: 'c-1',
          attrsJson: '{"pid": 42, "cursor": {"seq": 7}}',
          recordId: 's=abc;i=1',
          raw: 'not kept: keep_raw is off',
        }),
        { message: 'agent durable two' },
      ],
      { backlogRecords: '12', backlogBytes: '3400', lagMs: '250' },
    );
    const ack = await stream.ack(1);
    // The ack is the promise of durability: the records are there now, no waiting.
    const found = await search(s, read, '"agent durable"');
    assert.deepEqual(ack, { batchId: '1', status: 'ACK_STATUS_STORED', accepted: 2, rejected: 0, errors: [], retryAfterMs: 0, message: '', duplicates: 0 });
    assert.equal(found.length, 2);
    const one = found.find((r) => r.message === 'agent durable one');
    assert.deepEqual(
      [one.ts_ns, one.tenant, one.host, one.unit, one.service, one.severity, one.os, one.type, one.trace_id, one.span_id, one.correlation_id],
      ['1700000000123456789', 'fleet', 'srv-1', 'nginx.service', 'web', 3, 'linux', 'system', 't-1', 's-1', 'c-1'],
    );
    assert.deepEqual(one.attrs, { pid: 42, cursor: { seq: 7 }, record_id: 's=abc;i=1' });
    const two = found.find((r) => r.message === 'agent durable two');
    assert.deepEqual([two.severity, two.os, two.type, two.host], [6, 'other', 'application', ''], 'defaults for unset fields');
    stream.close();
    assert.equal((await stream.ended).code, grpc.status.OK);

    const agents = await fetch(`${s.server.url}/api/v1/agents`, { headers: { authorization: `Bearer ${read}` } }).then((r) => r.json() as Promise<any>);
    const me = agents.agents.find((a: any) => a.agent_id === 'agent-map');
    assert.equal(me.hostname, 'srv-1.example');
    assert.equal(me.version, '0.9.1');
    assert.equal(me.tenant, 'fleet');
    assert.equal(me.last_batch_id, '1');
    assert.equal(me.records_accepted, 2);
    assert.deepEqual([me.backlog_records, me.backlog_bytes, me.lag_ms], [12, 3400, 250]);
    assert.equal(me.streams, 0, 'the stream is closed');
    const forbidden = await fetch(`${s.server.url}/api/v1/agents`, { headers: { authorization: `Bearer ${ingest}` } });
    assert.equal(forbidden.status, 403, 'agent status needs the read role');
  });

  test('a batch resent on the same stream, after a reconnect, or while the first copy is in flight is stored once', async () => {
    const first = new AgentStream(s.client, agentMd(ingest, 'agent-dup'));
    first.send(10, [rec('dup record a'), rec('dup record b')]);
    assert.equal((await first.ack(10)).status, 'ACK_STATUS_STORED');
    first.send(10, [rec('dup record a'), rec('dup record b')]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(first.acks.filter((a) => a.batchId === '10').length, 2);
    assert.equal(first.acks.at(-1)!.status, 'ACK_STATUS_DUPLICATE');
    first.close();

    const second = new AgentStream(s.client, agentMd(ingest, 'agent-dup'));
    second.send(10, [rec('dup record a'), rec('dup record b')]);
    assert.equal((await second.ack(10)).status, 'ACK_STATUS_DUPLICATE', 'after a reconnect');
    // Two copies of a new batch racing on two streams.
    const third = new AgentStream(s.client, agentMd(ingest, 'agent-dup'));
    second.send(11, [rec('dup race')]);
    third.send(11, [rec('dup race')]);
    const outcomes = [(await second.ack(11)).status, (await third.ack(11)).status].sort();
    assert.deepEqual(outcomes, ['ACK_STATUS_DUPLICATE', 'ACK_STATUS_STORED']);
    // The same batch id from another agent is another batch.
    const other = new AgentStream(s.client, agentMd(ingest, 'agent-other'));
    other.send(10, [rec('dup other agent')]);
    assert.equal((await other.ack(10)).status, 'ACK_STATUS_STORED');
    for (const st of [second, third, other]) st.close();

    assert.equal((await search(s, read, '"dup record"')).length, 2);
    assert.equal((await search(s, read, '"dup race"')).length, 1);
    const metrics = await (await fetch(`${s.server.url}/metrics`)).text();
    assert.match(metrics, /log_errors_total\{source="agent",tenant="fleet",reason="duplicate"\} 5/);
  });

  test('batches without an id (0) are each stored: 0 is not an id to deduplicate by', async () => {
    const stream = new AgentStream(s.client, agentMd(ingest, 'agent-zero'));
    stream.send(0, [rec('zero id one')]);
    assert.equal((await stream.ack(0)).status, 'ACK_STATUS_STORED');
    stream.send(0, [rec('zero id two')]);
    for (let i = 0; i < 200 && stream.acks.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(stream.acks[1]!.status, 'ACK_STATUS_STORED');
    stream.close();
    assert.equal((await search(s, read, '"zero id"')).length, 2);
  });

  test('records resent in new batches (a restarted agent) are recognised by their seq and stored once', async () => {
    const seqRec = (seq: number) => rec(`seq record ${seq}`, { seq: String(seq) });
    const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => seqRec(lo + i));
    const first = new AgentStream(s.client, agentMd(ingest, 'agent-seq'));
    first.send(1, range(1000, 1004));
    assert.equal((await first.ack(1)).accepted, 5);
    first.close();
    // After a restart the agent cuts batches anew, with new ids, from its last persisted ack.
    const second = new AgentStream(s.client, agentMd(ingest, 'agent-seq'));
    second.send(2, range(1002, 1007));
    const ack = await second.ack(2);
    assert.deepEqual([ack.status, ack.accepted, ack.duplicates], ['ACK_STATUS_STORED', 3, 3]);
    // Two copies racing: the second waits for the first and finds its seqs stored.
    second.send(3, range(1008, 1009));
    second.send(4, range(1008, 1010));
    const [a3, a4] = [await second.ack(3), await second.ack(4)];
    assert.deepEqual([a3.accepted, a4.accepted, a4.duplicates], [2, 1, 2]);
    // Another agent's seqs are its own; records without a seq are never deduplicated.
    const other = new AgentStream(s.client, agentMd(ingest, 'agent-seq-other'));
    other.send(1, [...range(1000, 1001), rec('seq none'), rec('seq none')]);
    assert.equal((await other.ack(1)).accepted, 4);
    // A heartbeat (batch 0, no records) updates the status and is not acknowledged.
    other.send(0, [], { backlogRecords: '7', lagMs: '1500', droppedRecords: '3', configVersion: '4', configError: 'inputs.files: bad' });
    other.send(2, [rec('seq after heartbeat')]);
    await other.ack(2);
    assert.equal(other.acks.some((a) => a.batchId === '0'), false);
    for (const st of [second, other]) st.close();
    assert.equal((await search(s, read, '"seq record"')).length, 11 + 2);
    assert.equal((await search(s, read, '"seq none"')).length, 2);
    const agents = await fetch(`${s.server.url}/api/v1/agents`, { headers: { authorization: `Bearer ${read}` } }).then((r) => r.json() as Promise<any>);
    const me = agents.agents.find((x: any) => x.agent_id === 'agent-seq-other');
    assert.deepEqual([me.backlog_records, me.lag_ms, me.dropped_records, me.config_version, me.config_error], [7, 1500, 3, 4, 'inputs.files: bad']);
    assert.equal(agents.agents.find((x: any) => x.agent_id === 'agent-seq').duplicate_records, 5);
  });

  test('invalid records are rejected one by one with their index; the rest is stored', async () => {
    const stream = new AgentStream(s.client, agentMd(ingest, 'agent-bad-records'));
    stream.send(1, [
      rec('bad batch keep 1'),
      rec('bad os', { os: 'plan9' }),
      rec('bad severity', { severity: 9 }),
      rec('bad attrs', { attrsJson: '[1,2]' }),
      rec('bad attrs json', { attrsJson: '{"a":' }),
      rec('too long ' + 'x'.repeat(3000)),
      rec('bad batch keep 2'),
    ]);
    const ack = await stream.ack(1);
    stream.close();
    assert.equal(ack.status, 'ACK_STATUS_STORED');
    assert.equal(ack.accepted, 2);
    assert.equal(ack.rejected, 5);
    assert.deepEqual(
      ack.errors.map((e) => [e.index, e.reason.split(':')[0]]),
      [
        [1, 'os'],
        [2, 'severity'],
        [3, 'attrs_json'],
        [4, 'attrs_json'],
        [5, 'message is longer than 2048 bytes (ingest.max_line_bytes)'],
      ],
    );
    assert.equal((await search(s, read, '"bad batch keep"')).length, 2);
  });

  test('authentication: no token, a bad token, a read token, no agent id', async () => {
    const cases: [grpc.Metadata, grpc.status, RegExp][] = [
      [metadata({ 'x-cairn-agent-id': 'a' }), grpc.status.UNAUTHENTICATED, /token is required/],
      [metadata({ authorization: 'Bearer cairn_000000000000_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'x-cairn-agent-id': 'a' }), grpc.status.UNAUTHENTICATED, /unknown or revoked/],
      [agentMd(read), grpc.status.PERMISSION_DENIED, /needs "ingest"/],
      [metadata({ 'x-cairn-token': ingest }), grpc.status.INVALID_ARGUMENT, /x-cairn-agent-id/],
    ];
    for (const [md, code, text] of cases) {
      const stream = new AgentStream(s.client, md);
      stream.send(1, [rec('never stored auth')]);
      const end = await stream.ended;
      assert.equal(end.code, code, end.details);
      assert.match(end.details, text);
    }
    assert.equal((await search(s, read, '"never stored auth"')).length, 0);
  });

  test('a stream sending garbage ends with INVALID_ARGUMENT; a stream next to it carries on', async () => {
    const good = new AgentStream(s.client, agentMd(ingest, 'agent-good-neighbour'));
    good.send(1, [rec('neighbour before')]);
    await good.ack(1);
    const Raw = grpc.makeGenericClientConstructor(
      { Stream: { path: `/${SERVICE}/Stream`, requestStream: true, responseStream: true, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
      'Raw',
    );
    const raw = new Raw(s.address, grpc.credentials.createInsecure()) as unknown as AnyClient;
    const call = raw.Stream!(agentMd(ingest, 'agent-garbage')) as grpc.ClientDuplexStream<Buffer, Buffer>;
    call.on('error', () => undefined);
    const ended = new Promise<grpc.StatusObject>((r) => call.on('status', r));
    call.write(Buffer.from([0x12, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    const status = await ended;
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assert.match(status.details, /not a valid cairn.agent.v1.RecordBatch/);
    raw.close();
    good.send(2, [rec('neighbour after')]);
    assert.equal((await good.ack(2)).status, 'ACK_STATUS_STORED');
    good.close();
  });

  test('random and truncated frames: an ack or INVALID_ARGUMENT, never a crash or a hang', async () => {
    const Raw = grpc.makeGenericClientConstructor(
      { Stream: { path: `/${SERVICE}/Stream`, requestStream: true, responseStream: true, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } },
      'Raw',
    );
    const raw = new Raw(s.address, grpc.credentials.createInsecure()) as unknown as AnyClient;
    const valid = Buffer.from(
      protoType('cairn.agent.v1.RecordBatch').encode({ batchId: 77, records: [{ message: 'fuzz base', host: 'h', attrsJson: '{"a":1}' }, { message: 'fuzz base 2' }] }).finish(),
    );
    let seed = 99;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const frames: Buffer[] = [];
    for (let i = 0; i < 15; i++) frames.push(Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 120) }, () => Math.floor(rand() * 256))));
    for (let cut = 1; cut < valid.length; cut += 4) frames.push(valid.subarray(0, cut));
    let invalid = 0;
    for (const [i, frame] of frames.entries()) {
      const call = raw.Stream!(agentMd(ingest, `agent-fuzz-${i}`)) as grpc.ClientDuplexStream<Buffer, Buffer>;
      call.on('error', () => undefined);
      const acks: Buffer[] = [];
      call.on('data', (b: Buffer) => acks.push(b));
      const ended = new Promise<grpc.StatusObject>((r) => call.on('status', r));
      call.write(frame);
      call.end();
      const status = await ended;
      if (status.code === grpc.status.INVALID_ARGUMENT) invalid++;
      else assert.deepEqual([status.code, acks.length], [grpc.status.OK, 1], `frame ${frame.toString('hex')}: ${status.details}`);
    }
    raw.close();
    assert.ok(invalid > 0);
    const good = new AgentStream(s.client, agentMd(ingest, 'agent-after-fuzz'));
    good.send(1, [rec('after fuzz')]);
    assert.equal((await good.ack(1)).status, 'ACK_STATUS_STORED');
    good.close();
  });

  test('many pipelined batches on one stream all get their ack', async () => {
    const stream = new AgentStream(s.client, agentMd(ingest, 'agent-pipeline'));
    for (let i = 1; i <= 60; i++) stream.send(i, [rec(`pipelined ${i}`)]);
    for (let i = 1; i <= 60; i++) assert.equal((await stream.ack(i)).status, 'ACK_STATUS_STORED');
    stream.close();
    assert.equal((await stream.ended).code, grpc.status.OK);
    assert.equal((await search(s, read, 'pipelined')).length, 60);
  });

  test('a token revoked while its stream is open stops the stream at the next batch', async () => {
    const { token, entry } = s.server.auth.tokens.create({ tenant: 'fleet', role: 'ingest' });
    const stream = new AgentStream(s.client, agentMd(token, 'agent-revoked'));
    stream.send(1, [rec('before revoke')]);
    assert.equal((await stream.ack(1)).status, 'ACK_STATUS_STORED');
    s.server.auth.tokens.revoke(entry.id);
    await new Promise((r) => setTimeout(r, 1100)); // the token store re-reads at most once a second
    stream.send(2, [rec('after revoke')]);
    const end = await stream.ended;
    assert.equal(end.code, grpc.status.UNAUTHENTICATED);
    assert.equal((await search(s, read, '"after revoke"')).length, 0);
  });
});

describe('agent stream backpressure', () => {
  test('over the tenant rate: ACK_STATUS_RETRY with retry_after_ms, nothing stored; the resend is stored', async () => {
    const s = await setup({ ingest: { tenant_rate_limit: 10, tenant_burst: 10 } });
    try {
      const ingest = s.token('ingest');
      const stream = new AgentStream(s.client, agentMd(ingest, 'agent-rate'));
      const batch = Array.from({ length: 10 }, (_, i) => rec(`rated ${i}`));
      stream.send(1, batch);
      assert.equal((await stream.ack(1)).status, 'ACK_STATUS_STORED');
      stream.send(2, batch.map((r) => ({ ...r, message: `${r.message} second` })));
      const refused = await stream.ack(2);
      assert.equal(refused.status, 'ACK_STATUS_RETRY');
      assert.equal(refused.accepted, 0);
      assert.ok(refused.retryAfterMs >= 1000, `retry_after_ms ${refused.retryAfterMs}`);
      assert.match(refused.message, /over its rate limit/);
      await new Promise((r) => setTimeout(r, refused.retryAfterMs));
      stream.send(2, batch.map((r) => ({ ...r, message: `${r.message} second` })));
      // The second answer for batch 2 (on a busy machine it takes more than a moment).
      for (let i = 0; i < 100 && stream.acks.filter((a) => a.batchId === '2').length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(stream.acks.at(-1)!.status, 'ACK_STATUS_STORED', 'the resend of a refused batch is not a duplicate');
      stream.close();
      assert.equal((await search(s, s.token('read'), 'rated')).length, 20);
    } finally {
      s.client.close();
      await s.server.stop();
    }
  });

  test('a batch over sources.grpc.max_message_bytes ends its stream with RESOURCE_EXHAUSTED; other streams carry on', async () => {
    const s = await setup({ sources: { grpc: { max_message_bytes: '64KiB' } } });
    try {
      const token = s.token('ingest');
      const other = new AgentStream(s.client, agentMd(token, 'agent-small'));
      const big = new AgentStream(s.client, agentMd(token, 'agent-big'));
      big.send(1, [rec('big ' + 'x'.repeat(100 * 1024))]);
      const end = await big.ended;
      assert.equal(end.code, grpc.status.RESOURCE_EXHAUSTED, end.details);
      other.send(1, [rec('small one')]);
      assert.equal((await other.ack(1)).status, 'ACK_STATUS_STORED');
      other.close();
    } finally {
      s.client.close();
      await s.server.stop();
    }
  });

  test('a tiny queue: refused batches are told to retry; resending them stores everything once', async () => {
    const s = await setup({ queue: { max_records: 1 } });
    try {
      const stream = new AgentStream(s.client, agentMd(s.token('ingest'), 'agent-queue'));
      const pending = new Map<number, object[]>();
      for (let i = 1; i <= 30; i++) pending.set(i, [rec(`queued ${i}`)]);
      let retries = 0;
      for (let round = 0; round < 50 && pending.size > 0; round++) {
        const ids = [...pending.keys()];
        for (const id of ids) stream.send(id, pending.get(id)!);
        const acks = await Promise.all(ids.map((id) => stream.ack(id)));
        stream.acks.length = 0;
        for (const ack of acks) {
          if (ack.status === 'ACK_STATUS_RETRY') {
            retries++;
            assert.equal(ack.retryAfterMs, 1000);
            assert.match(ack.message, /ingest queue is full/);
          } else pending.delete(Number(ack.batchId));
        }
      }
      stream.close();
      assert.equal(pending.size, 0);
      assert.ok(retries > 0, 'with max_records 1 and pipelined batches, some were refused');
      assert.equal((await search(s, s.token('read'), 'queued')).length, 30);
    } finally {
      s.client.close();
      await s.server.stop();
    }
  });
});

describe('agent configs', () => {
  let s: Setup;
  let admin: string;
  let ingest: string;
  before(async () => {
    s = await setup();
    admin = s.token('admin');
    ingest = s.token('ingest');
  });
  after(async () => {
    s.client.close();
    await s.server.stop();
  });

  const put = (key: string, body: unknown, token = admin) =>
    fetch(`${s.server.url}/api/v1/agents/configs/${key}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  test('the admin API: set, get, list, delete; roles and bad input', async () => {
    let res = await put('web', { journald: { units: ['nginx.service'] } });
    assert.equal(res.status, 200);
    const set = (await res.json()) as any;
    assert.equal(set.access_key, 'web');
    assert.equal(set.version, 1);
    res = await fetch(`${s.server.url}/api/v1/agents/configs/web`, { headers: { authorization: `Bearer ${admin}` } });
    assert.deepEqual(((await res.json()) as any).config, { journald: { units: ['nginx.service'] } });
    res = await fetch(`${s.server.url}/api/v1/agents/configs`, { headers: { authorization: `Bearer ${admin}` } });
    assert.deepEqual(((await res.json()) as any).configs.map((c: any) => c.access_key), ['web']);
    assert.equal((await put('web', { x: 1 }, s.token('read'))).status, 403);
    assert.equal((await put('web', [1, 2])).status, 400);
    assert.equal((await put('bad%20key', {})).status, 400);
    assert.equal((await fetch(`${s.server.url}/api/v1/agents/configs/nope`, { headers: { authorization: `Bearer ${admin}` } })).status, 404);
    await put('tmp', { a: 1 });
    assert.equal((await fetch(`${s.server.url}/api/v1/agents/configs/tmp`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } })).status, 204);
    assert.equal((await fetch(`${s.server.url}/api/v1/agents/configs/tmp`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } })).status, 404);
  });

  test('AgentConfig returns the config of the key within the token\'s tenant', async () => {
    await put('db', { files: ['/var/log/postgresql/*.log'] });
    const res = await unary<any>(s.client, 'AgentConfig', { accessKey: 'db' }, agentMd(ingest, 'agent-cfg'));
    assert.equal(res.accessKey, 'db');
    assert.equal(res.found, true);
    assert.deepEqual(JSON.parse(res.configJson), { files: ['/var/log/postgresql/*.log'] });
    assert.equal(res.version, '1');
    assert.match(res.etag, /^[0-9a-f]{32}$/);
    const missing = await unary<any>(s.client, 'AgentConfig', {}, agentMd(ingest));
    assert.deepEqual([missing.accessKey, missing.found, missing.configJson, missing.version], ['default', false, '{}', '0']);
    const otherTenant = await unary<any>(s.client, 'AgentConfig', { accessKey: 'db' }, agentMd(s.token('ingest', 'elsewhere')));
    assert.equal(otherTenant.found, false, 'a key names a config only within its tenant');
    await assert.rejects(unary(s.client, 'AgentConfig', { accessKey: 'db' }), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
    await assert.rejects(unary(s.client, 'AgentConfig', { accessKey: '../etc' }, agentMd(ingest)), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT);
    const agents = (await fetch(`${s.server.url}/api/v1/agents`, { headers: { authorization: `Bearer ${admin}` } }).then((r) => r.json())) as any;
    assert.equal(agents.agents.find((a: any) => a.agent_id === 'agent-cfg').access_key, 'db');
  });

  test('WatchConfig sends the config, then every change: from the API and from the CLI writing the file', async () => {
    const call = s.client.WatchConfig!({ accessKey: 'watched' }, agentMd(ingest, 'agent-watch')) as grpc.ClientReadableStream<any>;
    const seen: any[] = [];
    call.on('data', (m: any) => seen.push(m));
    call.on('error', () => undefined);
    const until = async (n: number) => {
      const deadline = Date.now() + 5000;
      while (seen.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(seen.length, n, JSON.stringify(seen));
    };
    await until(1);
    assert.equal(seen[0].found, false);
    await put('watched', { level: 'info' });
    await until(2);
    assert.deepEqual([seen[1].version, JSON.parse(seen[1].configJson)], ['1', { level: 'info' }]);
    // `cairn agents config set` writes the file from another process.
    new AgentConfigStore(s.server.dataDir, 1 << 20).set('fleet', 'watched', { level: 'debug' });
    await until(3);
    assert.deepEqual([seen[2].version, JSON.parse(seen[2].configJson)], ['2', { level: 'debug' }]);
    await put('other-key', { x: 1 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(seen.length, 3, 'changes of other keys are not sent');
    call.cancel();
  });
});

test('shutdown: in-flight batches are acknowledged, then streams and watchers end with UNAVAILABLE', async () => {
  const dataDir = tempDir();
  const s = await setup({}, dataDir);
  const ingest = s.token('ingest');
  const stream = new AgentStream(s.client, agentMd(ingest, 'agent-shutdown'));
  stream.send(1, [rec('before shutdown')]);
  await stream.ack(1);
  const watch = s.client.WatchConfig!({}, agentMd(ingest)) as grpc.ClientReadableStream<any>;
  watch.on('data', () => undefined);
  watch.on('error', () => undefined);
  const watchEnded = new Promise<grpc.StatusObject>((r) => watch.on('status', r));
  await new Promise((r) => setTimeout(r, 100));
  stream.send(2, Array.from({ length: 500 }, (_, i) => rec(`in flight at shutdown ${i}`)));
  const closed = s.server.close();
  const end = await stream.ended;
  await closed;
  s.client.close();
  assert.equal(end.code, grpc.status.UNAVAILABLE, end.details);
  assert.match(end.details, /shutting down/);
  assert.equal((await watchEnded).code, grpc.status.UNAVAILABLE);
  // Either batch 2 reached the server before shutdown (then it is stored and was acked) or it
  // did not (then it is unacked and the agent resends it); never acked and lost.
  const ack2 = stream.acks.find((a) => a.batchId === '2');
  const reopened = await startTestServer({}, dataDir);
  try {
    const stored = (await query(reopened.url, { q: '"in flight at shutdown"', from: '2000-01-01T00:00:00Z', limit: '1000' })).body.records.length;
    if (ack2) {
      assert.equal(ack2.status, 'ACK_STATUS_STORED');
      assert.equal(stored, 500);
    } else assert.ok(stored === 0 || stored === 500);
  } finally {
    await reopened.stop();
  }
});
