/** Query safety over HTTP: the time limit, cancellation when the client goes away, per-tenant concurrency. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { json, postLogs, startTestServer, type TestServer } from './helpers/server.ts';

const S = 1_000_000_000n;

/** A range query whose every record counts in all 11000 windows: seconds of DuckDB work. */
function heavyQuery(startNs: bigint): string {
  const q = new URLSearchParams({
    query: 'count_over_time({service="load"}[30d])',
    start: startNs.toString(),
    end: (startNs + 10_999n * 1_000_000n).toString(),
    step: '0.001',
  });
  return `/loki/api/v1/query_range?${q}`;
}

async function cancelledCount(url: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^query_cancelled_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe('query safety', () => {
  let s: TestServer;
  let base: bigint;
  before(async () => {
    s = await startTestServer({ query: { timeout: '300ms', max_concurrent_per_tenant: 1 } });
    base = BigInt(Date.now() - 3_600_000) * 1_000_000n;
    for (let b = 0; b < 4; b++) {
      const batch = Array.from({ length: 5000 }, (_, i) => ({ ts: (base - BigInt(b * 5000 + i) * 1000n).toString(), service: 'load', host: `h${i % 50}`, message: `line ${i}` }));
      assert.equal((await postLogs(s.url, batch)).status, 200);
    }
  });
  after(() => s.stop());

  test('a query over its time limit is cancelled with 503 naming query.timeout', async () => {
    const started = performance.now();
    const res = await fetch(`${s.url}${heavyQuery(base)}`);
    const body = await json(res);
    assert.equal(res.status, 503);
    assert.match(body.message, /300 ms time limit \(query\.timeout\)/);
    // Not a speed test: only that the query ends instead of running for minutes.
    assert.ok(performance.now() - started < 60_000);
    assert.equal(await cancelledCount(s.url, 'timeout'), 1);
  });

  test('a query whose client went away is cancelled', async () => {
    const before = await cancelledCount(s.url, 'client_gone');
    const abort = new AbortController();
    const pending = fetch(`${s.url}${heavyQuery(base)}`, { signal: abort.signal }).catch((e: Error) => e);
    setTimeout(() => abort.abort(), 100);
    assert.equal(((await pending) as Error).name, 'AbortError');
    for (let i = 0; i < 50 && (await cancelledCount(s.url, 'client_gone')) === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await cancelledCount(s.url, 'client_gone'), before + 1);
    // The slot is free again: the next query runs (and finds the data).
    let ok: Response | undefined;
    for (let i = 0; i < 50; i++) {
      ok = await fetch(`${s.url}/api/v1/query?q=service:load&from=${(base - 100_000_000_000n).toString()}&limit=1`);
      if (ok.status !== 429) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(ok!.status, 200);
  });

  test('a tenant over query.max_concurrent_per_tenant gets 429 at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => fetch(`${s.url}/api/v1/stats?q=line&from=${(base - 100n * S).toString()}`).then(async (r) => ({ status: r.status, body: await json(r) }))),
    );
    const refused = results.filter((r) => r.status === 429);
    assert.ok(refused.length > 0 && refused.length < 8, JSON.stringify(results.map((r) => r.status)));
    assert.match(refused[0]!.body.error, /query\.max_concurrent_per_tenant/);
  });
});

test('queries out of any sane range are refused with 400 naming the problem, never a 500', async () => {
  const s = await startTestServer();
  try {
    await postLogs(s.url, [{ message: 'x', host: 'a' }]);
    const cases: [string, RegExp][] = [
      ['/api/v1/stats?from=1000&to=1000&step=0.0000000001s', /step/],
      ['/api/v1/fields/x/percentiles?from=1000&to=1000&step=0.0000000001s', /step/],
      [`/api/v1/query?q=${encodeURIComponent('('.repeat(5000) + 'a' + ')'.repeat(5000))}`, /nested/],
      [`/api/v1/query?q=${encodeURIComponent('-'.repeat(3000) + 'a')}`, /nested/],
      [`/loki/api/v1/query_range?query=${encodeURIComponent('count_over_time({host="a"}[99999999999y])')}`, /out of range/],
      [`/loki/api/v1/query_range?start=99999999999999999999999999&end=999999999999999999999999999&query=${encodeURIComponent('{host="a"}')}`, /out of range/],
    ];
    for (const [path, message] of cases) {
      const res = await fetch(`${s.url}${path}`);
      const body = await json(res);
      assert.equal(res.status, 400, `${path.slice(0, 80)}: ${JSON.stringify(body)}`);
      assert.match(body.message ?? body.error, message, path.slice(0, 80));
    }
  } finally {
    await s.stop();
  }
});
