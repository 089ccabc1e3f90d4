/** POST /api/v1/logs end to end: formats, encodings, and every kind of bad input. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { json, postLogs, query, startTestServer, type TestServer } from './helpers/server.ts';

const FROM = { from: '2000-01-01T00:00:00Z' };

describe('HTTP ingest', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ ingest: { max_line_bytes: 1024, max_body_bytes: '64KiB' } });
  });
  after(() => s.stop());

  test('NDJSON: every core field, epoch units, attrs; answered after it is queryable', async () => {
    const res = await postLogs(s.url, [
      { ts: '2024-05-01T10:00:00.123456789Z', message: 'ndjson-a', host: 'h1', unit: 'u1', service: 'svc', level: 'error', os: 'linux', type: 'system', trace_id: 't1', span_id: 's1', correlation_id: 'c1', user: 'ann' },
      { ts: 1714557600, message: 'ndjson-b epoch seconds' },
      { ts: 1714557600123, message: 'ndjson-c epoch ms' },
      { ts: '1714557600123456', message: 'ndjson-d epoch us' },
      { ts: '1714557600123456789', message: 'ndjson-e epoch ns' },
    ]);
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { accepted: 5, rejected: 0, errors: [] });
    const { body } = await query(s.url, { q: 'ndjson', ...FROM, order: 'asc' });
    const byMsg = Object.fromEntries(body.records.map((r: any) => [r.message.split(' ')[0], r]));
    const a = byMsg['ndjson-a'];
    assert.equal(a.ts, '2024-05-01T10:00:00.123456789Z');
    assert.deepEqual(
      [a.host, a.unit, a.service, a.severity, a.level, a.os, a.type, a.trace_id, a.span_id, a.correlation_id, a.attrs.user, a.tenant],
      ['h1', 'u1', 'svc', 3, 'err', 'linux', 'system', 't1', 's1', 'c1', 'ann', 'default'],
    );
    assert.match(a.id, /^[0-9a-f]{32}$/);
    assert.equal(byMsg['ndjson-b'].ts_ns, '1714557600000000000');
    assert.equal(byMsg['ndjson-c'].ts_ns, '1714557600123000000');
    assert.equal(byMsg['ndjson-d'].ts_ns, '1714557600123456000');
    assert.equal(byMsg['ndjson-e'].ts_ns, '1714557600123456789');
  });

  test('a JSON array, a single JSON object, gzip and zstd bodies', async () => {
    const arr = JSON.stringify([{ message: 'arr-1' }, { message: 'arr-2' }]);
    let res = await fetch(`${s.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: arr });
    assert.deepEqual(await json(res), { accepted: 2, rejected: 0, errors: [] });
    res = await fetch(`${s.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 'single-obj' }, null, 2) });
    assert.deepEqual(await json(res), { accepted: 1, rejected: 0, errors: [] });
    res = await fetch(`${s.url}/api/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
      body: gzipSync('{"message":"gz-1"}\n{"message":"gz-2"}\n'),
    });
    assert.deepEqual(await json(res), { accepted: 2, rejected: 0, errors: [] });
    res = await fetch(`${s.url}/api/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'zstd' },
      body: zstdCompressSync('{"message":"zstd-1"}'),
    });
    assert.deepEqual(await json(res), { accepted: 1, rejected: 0, errors: [] });
    const all = await query(s.url, { q: '"arr-" OR single-obj OR "gz-" OR zstd-1' });
    assert.equal(all.body.records.length, 6);
  });

  test('text/plain: one record per line, fields from the query string', async () => {
    const res = await fetch(`${s.url}/api/v1/logs?host=box&unit=cron&service=batch&level=warning`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'plain line one\r\n\nplain line two\n',
    });
    assert.deepEqual(await json(res), { accepted: 2, rejected: 0, errors: [] });
    const { body } = await query(s.url, { q: '"plain line"' });
    assert.equal(body.records.length, 2);
    for (const r of body.records) assert.deepEqual([r.host, r.unit, r.service, r.level], ['box', 'cron', 'batch', 'warning']);
  });

  test('a malformed JSON line is rejected with its line number; the rest is accepted', async () => {
    const res = await postLogs(s.url, '{"message":"good-1"}\n{"message": oops}\n\n{"message":"good-2"}\n[1]\n{"nomessage":1}');
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.accepted, 2);
    assert.equal(body.rejected, 3);
    assert.deepEqual(body.errors.map((e: any) => e.line), [2, 5, 6]);
    assert.match(body.errors[0].reason, /invalid JSON/);
    assert.match(body.errors[1].reason, /JSON object/);
    assert.match(body.errors[2].reason, /missing "message"/);
  });

  test('a line over the size limit is rejected by default', async () => {
    const res = await postLogs(s.url, [{ message: 'x'.repeat(2000) }, { message: 'short-ok' }]);
    const body = await json(res);
    assert.equal(body.accepted, 1);
    assert.deepEqual(body.errors, [{ line: 1, reason: 'line is longer than 1024 bytes' }]);
  });

  test('body too large (413), also after decompression', async () => {
    let res = await postLogs(s.url, [{ message: 'y'.repeat(900) }, ...Array.from({ length: 100 }, () => ({ message: 'y'.repeat(900) }))]);
    assert.equal(res.status, 413);
    assert.equal((await json(res)).code, 'body_too_large');
    res = await fetch(`${s.url}/api/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.alloc(10 * 1024 * 1024, 'a')),
    });
    assert.equal(res.status, 413);
    assert.match((await json(res)).error, /decompresses to more than/);
  });

  test('wrong content type (415), corrupt gzip and zstd (400), unknown encoding (415)', async () => {
    let res = await fetch(`${s.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<x/>' });
    assert.equal(res.status, 415);
    assert.match((await json(res)).error, /application\/xml/);
    for (const enc of ['gzip', 'zstd']) {
      res = await fetch(`${s.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'text/plain', 'content-encoding': enc }, body: 'not compressed at all' });
      assert.equal(res.status, 400, enc);
      const body = await json(res);
      assert.equal(body.code, 'corrupt_body');
      assert.match(body.error, new RegExp(enc));
    }
    res = await fetch(`${s.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'text/plain', 'content-encoding': 'lz4' }, body: 'x' });
    assert.equal(res.status, 415);
  });

  test('errors are counted by reason in /metrics', async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    for (const reason of ['invalid_json', 'invalid_record', 'line_too_long', 'unsupported_media_type', 'corrupt_body']) {
      assert.match(text, new RegExp(`log_errors_total\\{source="http",tenant="default",reason="${reason}"\\} [1-9]`), reason);
    }
    assert.match(text, /log_processed_total\{source="http",tenant="default"\} [1-9]/);
    assert.match(text, /log_received_bytes_total\{source="http",tenant="default"\} [1-9]/);
  });
});

describe('HTTP ingest options', () => {
  test('oversize_action: truncate keeps the start of the line, marked and counted', async () => {
    const s = await startTestServer({ ingest: { max_line_bytes: 100, oversize_action: 'truncate' } });
    try {
      const res = await fetch(`${s.url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'é'.repeat(80) });
      assert.deepEqual(await json(res), { accepted: 1, rejected: 0, errors: [] });
      const { body } = await query(s.url, {});
      assert.equal(body.records[0].message, 'é'.repeat(50));
      assert.equal(body.records[0].attrs.truncated, true);
      assert.match(await (await fetch(`${s.url}/metrics`)).text(), /reason="truncated"\} 1/);
    } finally {
      await s.stop();
    }
  });

  test('timestamps out of the window: clamp (default) keeps the original in attrs; reject refuses', async () => {
    const future = new Date(Date.now() + 86_400_000 * 3).toISOString();
    const clamp = await startTestServer({ ingest: { max_past: '1d' } });
    try {
      const res = await postLogs(clamp.url, [{ message: 'from the future', ts: future }, { message: 'from the past', ts: '2001-01-01T00:00:00Z' }]);
      assert.deepEqual(await json(res), { accepted: 2, rejected: 0, errors: [] });
      const { body } = await query(clamp.url, { from: 'now-5m' });
      assert.equal(body.records.length, 2);
      assert.ok(body.records.some((r: any) => r.attrs.original_ts === '2001-01-01T00:00:00.000000000Z'));
      assert.match(await (await fetch(`${clamp.url}/metrics`)).text(), /log_timestamps_clamped_total\{source="http",tenant="default"\} 2/);
    } finally {
      await clamp.stop();
    }
    const reject = await startTestServer({ ingest: { timestamp_action: 'reject' } });
    try {
      const res = await postLogs(reject.url, [{ message: 'from the future', ts: future }, { message: 'now' }]);
      const body = await json(res);
      assert.equal(body.accepted, 1);
      assert.deepEqual(body.errors, [{ line: 1, reason: 'timestamp outside the accepted window' }]);
      assert.match(await (await fetch(`${reject.url}/metrics`)).text(), /reason="timestamp_out_of_range"\} 1/);
    } finally {
      await reject.stop();
    }
  });

  test('a full queue answers 429 with Retry-After and stores nothing it did not acknowledge', async () => {
    const s = await startTestServer({ queue: { max_records: 10, batch_records: 10, retry_after_seconds: 3 } });
    try {
      const batch = Array.from({ length: 10 }, (_, i) => ({ message: `q${i}` }));
      const results = await Promise.all(Array.from({ length: 30 }, () => postLogs(s.url, batch)));
      const statuses = results.map((r) => r.status);
      const limited = results.filter((r) => r.status === 429);
      assert.ok(limited.length > 0, `expected some 429s, got ${statuses}`);
      assert.equal(limited[0]!.headers.get('retry-after'), '3');
      assert.equal((await json(limited[0]!)).code, 'queue_full');
      const ok = results.filter((r) => r.status === 200).length;
      const stats = await json(await fetch(`${s.url}/api/v1/stats?from=now-5m`));
      const stored = stats.buckets.reduce((a: number, b: any) => a + b.count, 0);
      assert.equal(stored, ok * 10);
    } finally {
      await s.stop();
    }
  });
});

test('a tenant over its rate limit gets 429 rate_limited with Retry-After', async () => {
  const s = await startTestServer({ ingest: { tenant_rate_limit: 10, tenant_burst: 20 } });
  try {
    const batch = Array.from({ length: 15 }, (_, i) => ({ message: `r${i}` }));
    assert.equal((await postLogs(s.url, batch)).status, 200);
    const res = await postLogs(s.url, batch);
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.equal((await json(res)).code, 'rate_limited');
    assert.match(await (await fetch(`${s.url}/metrics`)).text(), /reason="rate_limited"\} 15/);
  } finally {
    await s.stop();
  }
});

test('attrs nested deeper than 64 levels are refused per record; they never reach (and fail) a store commit', async () => {
  const s = await startTestServer();
  try {
    const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const lines = [
      `{"message":"too deep","attrs":{"x":${nest(20000)}}}`,
      `{"message":"also too deep","x":{"y":${nest(64)}}}`,
      `{"message":"deep but fine","x":${nest(63)}}`,
    ];
    const res = await postLogs(s.url, lines.join('\n'));
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.accepted, 1);
    assert.deepEqual(body.errors.map((e: any) => e.line), [1, 2]);
    assert.match(body.errors[0].reason, /nested more than 64 levels/);
    const found = await query(s.url, { q: 'deep' });
    assert.deepEqual(found.body.records.map((r: any) => r.message), ['deep but fine']);
  } finally {
    await s.stop();
  }
});
