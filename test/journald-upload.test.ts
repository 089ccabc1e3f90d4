/** POST /upload (the systemd-journal-remote protocol) end to end over real chunked HTTP: mapping, limits, bad streams, tenancy. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { TokenStore } from '../src/auth/tokens.ts';
import { freePort, query, startTestServer, tempDir, type TestServer } from './helpers/server.ts';
import { binaryField, exportEntry, textField } from './helpers/journal-export.ts';

const FROM = { from: '2000-01-01T00:00:00Z' };

/** A chunked upload as systemd-journal-upload sends it, one write per chunk. */
function upload(url: string, chunks: Buffer[], headers: Record<string, string> = {}, gapMs = 0): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.fdo.journal', 'transfer-encoding': 'chunked', accept: 'text/plain', ...headers },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    // The server may answer and close before the whole body is written.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    void (async () => {
      for (const chunk of chunks) {
        if (req.destroyed) return;
        req.write(chunk);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      req.end();
    })();
  });
}

function entry(i: number, extra: Buffer[] = []): Buffer {
  return exportEntry(
    textField('__CURSOR', `s=abc;i=${i}`),
    textField('__REALTIME_TIMESTAMP', String(1714557600000000 + i)),
    textField('_HOSTNAME', 'node-1'),
    textField('_SYSTEMD_UNIT', 'app.service'),
    textField('PRIORITY', '4'),
    textField('MESSAGE', `streamed entry ${i}`),
    ...extra,
  );
}

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

describe('journald upload', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ ingest: { max_line_bytes: 4096 }, sources: { journald: { batch_entries: 100, max_entry_bytes: '16KiB' } } });
  });
  after(() => s.stop());

  test('a streamed upload in odd-sized chunks: 202 "OK." after every entry is stored; fields mapped', async () => {
    const data = Buffer.concat([
      ...Array.from({ length: 950 }, (_, i) => entry(i)),
      exportEntry(
        textField('__REALTIME_TIMESTAMP', '1714557700000000'),
        textField('_HOSTNAME', 'node-2'),
        textField('SYSLOG_IDENTIFIER', 'sshd'),
        textField('PRIORITY', '2'),
        binaryField('MESSAGE', 'first line\nsecond line'),
        binaryField('RAW_BYTES', Buffer.from([0xff, 0x00, 0xfe, 0x0a])),
        binaryField('NUL_TEXT', 'a\u0000b'),
        textField('TAG', 'first'),
        textField('TAG', 'second'),
      ),
    ]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += 4093) chunks.push(data.subarray(i, i + 4093));
    const res = await upload(s.url, chunks);
    assert.equal(res.status, 202);
    assert.equal(res.body, 'OK. 951 entries stored.\n');
    const { body } = await query(s.url, { q: '"streamed entry"', ...FROM, limit: '2000' });
    assert.equal(body.records.length, 950);
    const r = body.records.find((x: any) => x.message === 'streamed entry 7');
    assert.deepEqual([r.ts_ns, r.host, r.unit, r.level, r.os, r.type, r.tenant], ['1714557600000007000', 'node-1', 'app.service', 'warning', 'linux', 'system', 'default']);
    const multi = (await query(s.url, { q: 'host:node-2', ...FROM })).body.records[0];
    assert.equal(multi.message, 'first line\nsecond line');
    assert.deepEqual([multi.unit, multi.level], ['sshd', 'crit']);
    assert.deepEqual(multi.attrs.RAW_BYTES, { base64: Buffer.from([0xff, 0x00, 0xfe, 0x0a]).toString('base64') });
    assert.equal(multi.attrs.NUL_TEXT, 'a\u0000b');
    assert.deepEqual(multi.attrs.TAG, ['first', 'second']);
  });

  test('a slow sender is read as it sends: batches are stored before the body ends, the answer comes after', async () => {
    const chunks = Array.from({ length: 5 }, (_, k) => Buffer.concat(Array.from({ length: 120 }, (_, i) => entry(10_000 + k * 120 + i, [textField('BATCH', 'slow')]))));
    let done = false;
    const pending = upload(s.url, chunks, {}, 300).then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 500));
    const midway = (await query(s.url, { q: 'BATCH:slow', ...FROM, limit: '1000' })).body.records.length;
    assert.equal(done, false);
    assert.ok(midway >= 100 && midway < 600, `stored while streaming: ${midway}`);
    const res = await pending;
    assert.equal(res.status, 202);
    assert.equal((await query(s.url, { q: 'BATCH:slow', ...FROM, limit: '1000' })).body.records.length, 600);
  });

  test('wrong content type (415), corrupt and truncated streams (400 naming the byte), text answers', async () => {
    let res = await upload(s.url, [entry(1)], { 'content-type': 'application/json' });
    assert.equal(res.status, 415);
    assert.equal(res.body, 'Content-Type: application/vnd.fdo.journal is required.\n');
    const cases: [Buffer[], RegExp][] = [
      [[entry(20_001), Buffer.from('lower=case\n\n')], /not journal export format at byte \d+: "lower" is not a journal field name; the 0 entries before it were stored/],
      [[entry(20_002), binaryField('MESSAGE', 'abcdef').subarray(0, 12)], /the upload ended inside a field \(MESSAGE\)/],
      [[Buffer.concat([Buffer.from('HUGE\n'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x10])])], /declares 1152921504606846976 bytes/],
      [[randomBytes(5000)], /not journal export format/],
    ];
    for (const [chunks, message] of cases) {
      res = await upload(s.url, chunks);
      assert.equal(res.status, 400, String(message));
      assert.match(res.body, message);
    }
    assert.match(await metricsText(s.url), /log_errors_total\{source="journald",tenant="default",reason="corrupt_body"\} [1-9]/);
  });

  test('oversized entries are refused and counted while the upload goes on', async () => {
    const big = exportEntry(textField('__REALTIME_TIMESTAMP', '1714557600000000'), binaryField('MESSAGE', 'z'.repeat(10_000)));
    const wide = exportEntry(...Array.from({ length: 12 }, (_, i) => textField(`F${i}`, 'v'.repeat(2000))));
    const res = await upload(s.url, [big, wide, exportEntry(textField('MESSAGE', 'after the big ones'))]);
    assert.equal(res.status, 202);
    assert.match(res.body, /^OK\. 1 entries stored\. 2 entries were refused/);
    assert.equal((await query(s.url, { q: '"after the big ones"', ...FROM })).body.records.length, 1);
    assert.match(await metricsText(s.url), /source="journald",tenant="default",reason="line_too_long"\} 2/);
  });

  test('bad uploads on many connections at once leave a good one unaffected', async () => {
    const junk = Array.from({ length: 30 }, (_, i) => upload(s.url, [randomBytes(2000 + i * 97)], {}, 0));
    const good = await upload(s.url, [entry(30_000)]);
    assert.equal(good.status, 202);
    for (const r of await Promise.all(junk)) assert.ok(r.status === 400 || r.status === 202, String(r.status));
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
  });
});

describe('journald upload: tenancy and backpressure', () => {
  test('token mode: no tenant → 401 naming the fix; sources.journald.tenant for trusted networks; a token still wins', async () => {
    const plain = await startTestServer({ auth: { mode: 'token' } });
    try {
      const res = await upload(plain.url, [entry(1)]);
      assert.equal(res.status, 401);
      assert.match(res.body, /set sources\.journald\.tenant .* or use the HTTPS listener/);
    } finally {
      await plain.stop();
    }
    const s = await startTestServer({ auth: { mode: 'token' }, sources: { journald: { tenant: 'acme' } } });
    try {
      const token = new TokenStore(s.dataDir).create({ tenant: 'globex', role: 'ingest' }).token;
      const reader = new TokenStore(s.dataDir).create({ tenant: 'acme', role: 'read' }).token;
      const globexReader = new TokenStore(s.dataDir).create({ tenant: 'globex', role: 'read' }).token;
      await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the token file at most once a second
      assert.equal((await upload(s.url, [entry(1)])).status, 202);
      assert.equal((await upload(s.url, [entry(2)], { authorization: `Bearer ${token}` })).status, 202);
      assert.equal((await query(s.url, { q: '"streamed entry 1"', ...FROM }, { authorization: `Bearer ${reader}` })).body.records[0].tenant, 'acme');
      assert.equal((await query(s.url, { q: '"streamed entry 2"', ...FROM }, { authorization: `Bearer ${globexReader}` })).body.records[0].tenant, 'globex');
    } finally {
      await s.stop();
    }
    const untrusted = await startTestServer({ auth: { mode: 'token' }, sources: { journald: { tenant: 'acme', trusted_networks: ['10.0.0.0/8'] } } });
    try {
      const res = await upload(untrusted.url, [entry(1)]);
      assert.equal(res.status, 403);
      assert.match(res.body, /127\.0\.0\.1 is not in sources\.journald\.trusted_networks/);
    } finally {
      await untrusted.stop();
    }
  });

  test('a listener of its own (sources.journald.listen) with the trusted-networks tenant; open mode stays on loopback', async () => {
    const port = await freePort();
    const s = await startTestServer({ auth: { mode: 'token' }, sources: { journald: { listen: `127.0.0.1:${port}`, tenant: 'acme' } } });
    try {
      const res = await upload(`http://127.0.0.1:${port}`, [entry(1), entry(2)], {}, 100);
      assert.deepEqual([res.status, res.body], [202, 'OK. 2 entries stored.\n']);
      assert.match(await metricsText(s.url), /log_processed_total\{source="journald",tenant="acme"\} 2/);
    } finally {
      await s.stop();
    }
    const dir = tempDir();
    await assert.rejects(
      startTestServer({ auth: { mode: 'open' }, sources: { journald: { listen: '0.0.0.0:0' } } }, dir),
      /auth\.mode: "open" is only allowed on loopback addresses, but sources\.journald\.listen is 0\.0\.0\.0:0/,
    );
    rmSync(dir, { recursive: true, force: true });
  });

  test('over the tenant rate the upload is held back (not refused) and completes; past backpressure_timeout it gets 429', async () => {
    const s = await startTestServer({ ingest: { tenant_rate_limit: 400, tenant_burst: 400 }, sources: { journald: { batch_entries: 200 } } });
    try {
      const data = Buffer.concat(Array.from({ length: 1000 }, (_, i) => entry(i)));
      const started = Date.now();
      const res = await upload(s.url, [data]);
      assert.equal(res.status, 202, res.body);
      assert.ok(Date.now() - started >= 1000, 'held back by the rate limit');
      assert.equal((await query(s.url, { q: '"streamed entry"', ...FROM, limit: '2000' })).body.records.length, 1000);
      assert.doesNotMatch(await metricsText(s.url), /reason="rate_limited"/, 'waiting is not a refusal');
    } finally {
      await s.stop();
    }
    const strict = await startTestServer({ ingest: { tenant_rate_limit: 100, tenant_burst: 100 }, sources: { journald: { batch_entries: 100, backpressure_timeout: '300ms' } } });
    try {
      const res = await upload(strict.url, [Buffer.concat(Array.from({ length: 400 }, (_, i) => entry(i)))]);
      assert.equal(res.status, 429);
      assert.match(res.body, /over its rate limit/);
      assert.match(await metricsText(strict.url), /source="journald",tenant="default",reason="rate_limited"\} 100/);
    } finally {
      await strict.stop();
    }
  });
});
