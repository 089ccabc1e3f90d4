/** The forward protocol source end to end: real sockets, frames built from the spec, every mode, acks, the handshake, limits, bad input. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { freePort, query, startChildServer, startTestServer, tempDir, type TestServer } from './helpers/server.ts';
import { rmSync } from 'node:fs';
import { ForwardClient, entry, eventTime, forwardMode, messageMode, pack, packedForward } from './helpers/forward.ts';

const FROM = { from: '2015-01-01T00:00:00Z', order: 'asc', limit: '1000' };

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function counter(text: string, name: string, labels: string): number {
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('forward: open local mode on loopback', () => {
  let s: TestServer;
  let port: number;
  before(async () => {
    port = await freePort();
    s = await startTestServer({
      sources: { forward: { listen: `127.0.0.1:${port}`, max_message_bytes: '1MiB', max_records_per_message: 1000, message_timeout: '400ms', idle_timeout: '3s' } },
    });
  });
  after(() => s.stop());

  test('all four modes with chunk options: each ack echoes its chunk, the records are queryable', async () => {
    const c = await ForwardClient.connect(port);
    c.write(messageMode('app.message', eventTime(1_714_557_600, 123_456_789), { message: 'mode-message', level: 'error', host: 'h1' }, { chunk: 'chunk-1' }));
    assert.deepEqual(await c.next(), { ack: 'chunk-1' });
    c.write(forwardMode('app.forward', [entry(1_714_557_601, { log: 'mode-forward-1' }), entry(eventTime(1_714_557_602), { log: 'mode-forward-2' })], { chunk: 'chunk-2', size: 2 }));
    assert.deepEqual(await c.next(), { ack: 'chunk-2' });
    c.write(packedForward('app.packed', [entry(eventTime(1_714_557_603, 1), { msg: 'mode-packed-bin' })], { chunk: 'chunk-3' }));
    c.write(packedForward('app.packed', [entry(eventTime(1_714_557_603, 2), { msg: 'mode-packed-str' })], { chunk: 'chunk-4' }, { asStr: true }));
    assert.deepEqual(await c.next(), { ack: 'chunk-3' });
    assert.deepEqual(await c.next(), { ack: 'chunk-4' });
    c.write(packedForward('app.gzip', [entry(eventTime(1_714_557_604), { message: 'mode-gzip-1' }), entry(eventTime(1_714_557_605), { message: 'mode-gzip-2' })], { chunk: 'chunk-5', compressed: 'gzip', size: 2 }, { gzip: true }));
    assert.deepEqual(await c.next(), { ack: 'chunk-5' });
    c.close();

    const { body } = await query(s.url, { q: 'mode', ...FROM });
    const byMessage = Object.fromEntries(body.records.map((r: any) => [r.message, r]));
    assert.deepEqual(Object.keys(byMessage).sort(), ['mode-forward-1', 'mode-forward-2', 'mode-gzip-1', 'mode-gzip-2', 'mode-message', 'mode-packed-bin', 'mode-packed-str']);
    const m = byMessage['mode-message'];
    assert.deepEqual([m.ts, m.unit, m.level, m.host, m.tenant], ['2024-05-01T10:00:00.123456789Z', 'app.message', 'err', 'h1', 'default']);
    assert.equal(byMessage['mode-forward-1'].ts_ns, '1714557601000000000');
    assert.equal(byMessage['mode-packed-str'].ts_ns, '1714557603000000002');
    assert.equal(byMessage['mode-gzip-2'].unit, 'app.gzip');
  });

  test('without a chunk option nothing is answered; nil keep-alives are fine', async () => {
    const c = await ForwardClient.connect(port);
    c.write(Buffer.from([0xc0]));
    c.write(messageMode('noack', 1_714_557_700, { message: 'no-ack-wanted' }));
    c.write(messageMode('noack', 1_714_557_701, { message: 'then-ack' }, { chunk: 'only-this' }));
    assert.deepEqual(await c.next(), { ack: 'only-this' });
    c.close();
    const { body } = await query(s.url, { q: 'no-ack-wanted OR then-ack', ...FROM });
    assert.equal(body.records.length, 2);
  });

  test('bad entries are skipped and counted, the good ones stored and the message acked', async () => {
    const c = await ForwardClient.connect(port);
    c.write(forwardMode('mixed', [entry(1_714_557_800, { message: 'good-entry' }), pack([1, 2, 3]), pack(['x', { message: 'bad time' }])], { chunk: 'mixed-1' }));
    assert.deepEqual(await c.next(), { ack: 'mixed-1' });
    c.close();
    assert.equal((await query(s.url, { q: 'good-entry', ...FROM })).body.records.length, 1);
    assert.ok(counter(await metricsText(s.url), 'log_errors_total', '{source="forward",tenant="default",reason="invalid_record"}') >= 2);
  });

  test("Fluent Bit's metrics (fluent_signal 1, or a bare cmetrics record) are acked, counted, not stored", async () => {
    const c = await ForwardClient.connect(port);
    c.write(messageMode('fb.metrics', eventTime(1_714_557_850), { cmetrics: Buffer.from([0x81, 0xa1, 0x61, 0x01]) }, { chunk: 'm1' }));
    assert.deepEqual(await c.next(), { ack: 'm1' });
    c.write(packedForward('fb.traces', [entry(eventTime(1_714_557_851), { log: 'signal-2 record' })], { chunk: 'm2', fluent_signal: 2 }));
    assert.deepEqual(await c.next(), { ack: 'm2' });
    c.close();
    assert.equal((await query(s.url, { q: 'signal-2', ...FROM })).body.records.length, 0);
    assert.equal(counter(await metricsText(s.url), 'log_errors_total', '{source="forward",tenant="default",reason="unsupported_signal"}'), 2);
  });

  test('bad input closes only that connection, with a counted reason; the others go on', async () => {
    const good = await ForwardClient.connect(port);
    const cases: [string, Buffer][] = [
      ['random bytes', Buffer.concat([Buffer.from([0x93, 0xa3]), Buffer.from('tag'), randomBytes(4096)])],
      ['text', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
      ['bin32 header claiming 4 GiB', Buffer.from([0x93, 0xa3, 0x61, 0x62, 0x63, 0xc6, 0xff, 0xff, 0xff, 0xff])],
      ['array32 header claiming 2^31 entries', Buffer.from([0x93, 0xa3, 0x61, 0x62, 0x63, 0xdd, 0x7f, 0xff, 0xff, 0xff])],
      ['wrong types', pack([1, 2, 3])],
      ['a map instead of an array', pack({ tag: 'x' })],
      ['corrupt gzip', packedForward('t', [Buffer.from('not gzip')], { compressed: 'gzip', chunk: 'never' })],
      ['truncated entries stream', packedForward('t', [Buffer.from([0x92, 0xd7])], { chunk: 'never' })],
      ['too many records', forwardMode('t', Array.from({ length: 1001 }, (_, i) => entry(i, { i })), { chunk: 'never' })],
    ];
    for (const [what, bytes] of cases) {
      const bad = await ForwardClient.connect(port);
      bad.write(bytes);
      await Promise.race([bad.closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: not closed`)), 5000))]);
      await assert.rejects(bad.next(10), /closed/, `${what}: no answer`);
      good.write(messageMode('survivor', 1_714_557_900, { message: `still fine after ${what}` }, { chunk: what }));
      assert.deepEqual(await good.next(), { ack: what }, what);
    }
    good.close();
    const text = await metricsText(s.url);
    for (const reason of ['invalid_message', 'message_too_large', 'corrupt_body', 'too_many_records']) {
      assert.ok(counter(text, 'log_errors_total', `{source="forward",tenant="default",reason="${reason}"}`) >= 1, reason);
    }
  });

  test('a truncated message followed by the sender closing: nothing stored, nothing acked, no hang', async () => {
    const c = await ForwardClient.connect(port);
    const frame = messageMode('cut', 1_714_558_000, { message: 'cut-short' }, { chunk: 'cut' });
    c.socket.end(frame.subarray(0, frame.length - 3));
    await c.closed;
    assert.equal((await query(s.url, { q: 'cut-short', ...FROM })).body.records.length, 0);
  });

  test('a slow sender is cut off after message_timeout; an idle one after idle_timeout', async () => {
    const slow = await ForwardClient.connect(port);
    // [tag, str32 of 1000 bytes ...: a PackedForward message whose entries arrive a byte at a time.
    slow.write(Buffer.from([0x93, 0xa3, 0x61, 0x62, 0x63, 0xdb, 0x00, 0x00, 0x03, 0xe8]));
    const started = Date.now();
    const drip = setInterval(() => slow.socket.writable && slow.write(Buffer.from([0x61])), 100);
    await slow.closed;
    clearInterval(drip);
    assert.ok(Date.now() - started < 3000, 'closed by the message timeout, not the idle timeout');
    assert.ok(counter(await metricsText(s.url), 'log_errors_total', '{source="forward",tenant="default",reason="timeout"}') >= 1);
    const idle = await ForwardClient.connect(port);
    const t0 = Date.now();
    await idle.closed;
    assert.ok(Date.now() - t0 >= 2500, 'idle connection kept until idle_timeout');
  });

  test('received bytes and stored records are counted; connections are a gauge', async () => {
    const text = await metricsText(s.url);
    assert.ok(counter(text, 'log_received_bytes_total', '{source="forward",tenant="default"}') > 0);
    assert.ok(counter(text, 'log_processed_total', '{source="forward",tenant="default"}') >= 10);
    assert.match(text, /source_connections\{source="forward"\} \d+/);
  });
});

describe('forward: shared keys decide the tenant (token mode)', () => {
  let s: TestServer;
  let port: number;
  const readToken: Record<string, string> = {};
  before(async () => {
    port = await freePort();
    s = await startTestServer({
      auth: { mode: 'token' },
      sources: {
        forward: {
          listen: `127.0.0.1:${port}`,
          self_hostname: 'cairn-test',
          shared_keys: [
            { key: 'alpha-key', tenant: 'alpha' },
            { key: 'beta-key', tenant: 'beta' },
          ],
        },
      },
    });
    const { TokenStore } = await import('../src/auth/tokens.ts');
    const store = new TokenStore(s.dataDir);
    for (const t of ['alpha', 'beta']) readToken[t] = store.create({ tenant: t, role: 'read' }).token;
    await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the token file at most once a second
  });
  after(() => s.stop());

  test('a proven key: PONG true with the server proof; records belong to that key’s tenant only', async () => {
    for (const [key, tenant] of [['alpha-key', 'alpha'], ['beta-key', 'beta']] as const) {
      const c = await ForwardClient.connect(port);
      const { pong, serverProved } = await c.handshake(key);
      assert.deepEqual(pong.slice(0, 4), ['PONG', true, '', 'cairn-test']);
      assert.ok(serverProved);
      c.write(messageMode('app', 1_714_560_000, { message: `secret of ${tenant}`, tenant: 'alpha' }, { chunk: tenant }));
      assert.deepEqual(await c.next(), { ack: tenant });
      c.close();
    }
    for (const tenant of ['alpha', 'beta']) {
      const { status, body } = await query(s.url, { q: 'secret', ...FROM }, { authorization: `Bearer ${readToken[tenant]}` });
      assert.equal(status, 200);
      assert.deepEqual(body.records.map((r: any) => [r.message, r.tenant]), [[`secret of ${tenant}`, tenant]]);
    }
  });

  test('a wrong key: PONG false with a reason, the connection closed, counted as unauthorized', async () => {
    const c = await ForwardClient.connect(port);
    const { pong } = await c.handshake('guessed-key');
    assert.deepEqual(pong.slice(0, 3), ['PONG', false, 'shared_key mismatch']);
    await c.closed;
    assert.ok(counter(await metricsText(s.url), 'log_errors_total', '{source="forward",tenant="-",reason="unauthorized"}') >= 1);
  });

  test('events before the handshake are refused: the connection is closed, nothing stored', async () => {
    const c = await ForwardClient.connect(port);
    assert.equal(((await c.next()) as unknown[])[0], 'HELO');
    c.write(messageMode('sneaky', 1_714_560_001, { message: 'unauthenticated event' }, { chunk: 'x' }));
    const pong = (await c.next()) as unknown[];
    assert.deepEqual(pong.slice(0, 2), ['PONG', false]);
    await c.closed;
    for (const t of ['alpha', 'beta']) {
      const { body } = await query(s.url, { q: 'unauthenticated', ...FROM }, { authorization: `Bearer ${readToken[t]}` });
      assert.equal(body.records.length, 0);
    }
  });
});

describe('forward: backpressure and limits', () => {
  test('over the tenant rate the ack is withheld until the records are stored; never acked unstored', async () => {
    const port = await freePort();
    const s = await startTestServer({ ingest: { tenant_rate_limit: 10, tenant_burst: 10 }, sources: { forward: { listen: `127.0.0.1:${port}` } } });
    try {
      const c = await ForwardClient.connect(port);
      const batch = (n: number) => forwardMode('rl', Array.from({ length: 10 }, (_, i) => entry(1_714_561_000 + i, { message: `rate-${n}-${i}` })), { chunk: `rl-${n}` });
      c.write(batch(1));
      assert.deepEqual(await c.next(), { ack: 'rl-1' });
      const started = Date.now();
      c.write(batch(2));
      assert.deepEqual(await c.next(), { ack: 'rl-2' });
      assert.ok(Date.now() - started >= 500, `second ack after the bucket refilled (${Date.now() - started} ms)`);
      c.close();
      assert.equal((await query(s.url, { q: 'rate', ...FROM })).body.records.length, 20);
      assert.ok(counter(await metricsText(s.url), 'log_errors_total', '{source="forward",tenant="default",reason="rate_limited"}') >= 10);
    } finally {
      await s.stop();
    }
  });

  test('max_connections: one more is refused and counted; the open ones keep working', async () => {
    const port = await freePort();
    const s = await startTestServer({ sources: { forward: { listen: `127.0.0.1:${port}`, max_connections: 2 } } });
    try {
      const a = await ForwardClient.connect(port);
      const b = await ForwardClient.connect(port);
      await new Promise((r) => setTimeout(r, 100));
      const extra = await ForwardClient.connect(port);
      await extra.closed;
      a.write(messageMode('mc', 1_714_562_000, { message: 'still served' }, { chunk: 'a' }));
      assert.deepEqual(await a.next(), { ack: 'a' });
      b.close();
      a.close();
      assert.equal(counter(await metricsText(s.url), 'log_errors_total', '{source="forward",tenant="-",reason="too_many_connections"}'), 1);
    } finally {
      await s.stop();
    }
  });

  test('message size: a frame over max_message_bytes closes the connection before it is buffered', async () => {
    const port = await freePort();
    const s = await startTestServer({ sources: { forward: { listen: `127.0.0.1:${port}`, max_message_bytes: '64KiB' } } });
    try {
      const c = await ForwardClient.connect(port);
      c.write(messageMode('big', 1_714_563_000, { message: 'x'.repeat(100_000) }, { chunk: 'big' }));
      await c.closed;
      assert.equal(counter(await metricsText(s.url), 'log_errors_total', '{source="forward",tenant="default",reason="message_too_large"}'), 1);
    } finally {
      await s.stop();
    }
  });

  test('a forward listener off loopback without keys is refused at start with a clear error', async () => {
    const port = await freePort();
    await assert.rejects(startTestServer({ auth: { mode: 'token' }, sources: { forward: { listen: `127.0.0.1:${port}` } } }), /no shared_keys are configured/);
  });
});

test('cairn server --forward-listen opens the listener (the CLI flag, in a child process)', async () => {
  const port = await freePort();
  const dir = tempDir();
  const child = await startChildServer(dir, ['--forward-listen', `127.0.0.1:${port}`]);
  try {
    const c = await ForwardClient.connect(port);
    c.write(messageMode('cli', 1_714_564_000, { message: 'via the cli flag' }, { chunk: 'cli' }));
    assert.deepEqual(await c.next(), { ack: 'cli' });
    c.close();
    assert.equal((await query(child.url, { q: '"cli flag"', ...FROM })).body.records.length, 1);
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
