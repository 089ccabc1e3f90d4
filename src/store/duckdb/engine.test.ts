import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDBEngine, type EngineOptions } from './engine.ts';
import { toColumnBatch } from '../batch.ts';
import { newRecord } from '../../record/record.ts';
import { parseSearch } from '../../query/search.ts';
import { ALL } from '../../query/ast.ts';

const DAY = 86_400_000_000_000n;
const T0 = 1_700_000_000_000_000_000n; // 2023-11-14

function options(dir: string, over: Partial<EngineOptions> = {}): EngineOptions {
  return {
    dir,
    memoryLimitBytes: 256 * 1024 * 1024,
    threads: 2,
    headMaxRows: 1_000_000,
    headMaxAgeMs: 3_600_000,
    zstdLevel: 3,
    rowGroupRows: 1024,
    mergeMaxRows: 1_000_000,
    mergeMinSegments: 4,
    ...over,
  };
}

function batch(n: number, start: number, tenant = 'acme', tsBase = T0) {
  const records = [];
  for (let i = start; i < start + n; i++) {
    records.push(
      newRecord(
        {
          ts: tsBase + BigInt(i) * 1_000_000_000n,
          tenant,
          host: `web-${i % 3}`,
          service: i % 2 ? 'api' : 'db',
          severity: i % 8,
          message: `request ${i} ${i % 10 === 0 ? 'timeout' : 'ok'}`,
          attrs: { seq: i, user: { id: i % 5 } },
        },
        tsBase,
      ),
    );
  }
  return toColumnBatch(records);
}

const everything = { tenant: 'acme', where: ALL, fromNs: 0n, toNs: T0 * 2n };

async function count(e: DuckDBEngine, tenant = 'acme', q = ''): Promise<number> {
  const rows = await e.aggregate(1, { ...everything, tenant, where: parseSearch(q), groupBy: [], measures: [{ fn: 'count' }] });
  return rows[0]?.values[0] ?? 0;
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'cairn-engine-'));
}

test('appends are searchable at once, filtered, ordered and limited', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir));
  await e.open();
  await e.append(batch(100, 0));
  const found = await e.search(1, { ...everything, where: parseSearch('timeout host:web-1'), limit: 10, order: 'desc' });
  assert.deepEqual(found.map((r) => r.attrs.seq), [70, 40, 10]);
  assert.equal(found[0]!.message, 'request 70 timeout');
  const asc = await e.search(1, { ...everything, where: parseSearch('attrs.user.id:3'), limit: 2, order: 'asc' });
  assert.deepEqual(asc.map((r) => r.attrs.seq), [3, 8]);
  // severities 0..4 among i % 8 for i < 100: residues 0-3 occur 13 times, 4 occurs 12
  assert.equal(await count(e, 'acme', 'level>=warning'), 13 * 4 + 12);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('head and segments answer together, before and after compaction', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir, { headMaxRows: 250 }));
  await e.open();
  for (let i = 0; i < 10; i++) await e.append(batch(100, i * 100));
  const before = await count(e);
  await e.flush();
  const size = e.size();
  assert.equal(size.headRows, 0);
  assert.equal(size.segmentRows, 1000);
  assert.equal(before, 1000);
  assert.equal(await count(e), 1000);
  assert.equal(await count(e, 'acme', 'timeout'), 100);
  const files = readdirSync(join(dir, 'segments', 'acme', '2023-11-14'));
  assert.ok(files.some((f) => f.endsWith('.parquet')) && files.every((f) => f.endsWith('.parquet') || f.endsWith('.tri')));
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('segments are per tenant and day, and a tenant sees only its own', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir));
  await e.open();
  await e.append(batch(50, 0, 'acme'));
  await e.append(batch(30, 0, 'globex', T0 + DAY));
  await e.flush();
  assert.equal(await count(e, 'acme'), 50);
  assert.equal(await count(e, 'globex'), 30);
  assert.equal(await count(e, 'nobody'), 0);
  const parts = await e.partitions();
  assert.deepEqual(parts.map((p) => [p.tenant, p.day, p.rows]), [['acme', '2023-11-14', 50], ['globex', '2023-11-15', 30]]);
  assert.equal(await e.dropPartition('globex', '2023-11-15'), 30);
  assert.equal(await count(e, 'globex'), 0);
  assert.equal(await count(e, 'acme'), 50);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('small segments of a day are merged without losing or repeating a row', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir, { headMaxRows: 100, mergeMinSegments: 4 }));
  await e.open();
  for (let i = 0; i < 12; i++) await e.append(batch(100, i * 100));
  await e.flush();
  const segs = readdirSync(join(dir, 'segments', 'acme', '2023-11-14'));
  assert.ok(segs.length < 12, `expected merges, found ${segs.length} files`);
  assert.equal(await count(e), 1200);
  const distinct = await e.aggregate(1, { ...everything, groupBy: [], measures: [{ fn: 'count_distinct', field: { kind: 'attr', path: ['seq'] } }] });
  assert.equal(distinct[0]!.values[0], 1200);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('aggregates: buckets, groups with a limit, numeric measures', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir));
  await e.open();
  await e.append(batch(120, 0)); // one record per second for two minutes
  const rows = await e.aggregate(1, {
    ...everything,
    stepNs: 60_000_000_000n,
    groupBy: [{ kind: 'core', name: 'host' }],
    measures: [{ fn: 'count' }, { fn: 'max', field: { kind: 'attr', path: ['seq'] } }],
    groupLimit: 2,
  });
  assert.equal(new Set(rows.map((r) => r.group[0])).size, 2);
  assert.equal(rows.reduce((a, r) => a + r.values[0]!, 0), 80);
  const q = await e.aggregate(1, { ...everything, groupBy: [], measures: [{ fn: 'quantile', field: { kind: 'attr', path: ['seq'] }, q: 0.5 }] });
  assert.equal(q[0]!.values[0], 59.5);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('restart: heads replay from the WAL and are compacted; orphan files are removed', async () => {
  const dir = tmp();
  let e = new DuckDBEngine(options(dir));
  await e.open();
  await e.append(batch(100, 0));
  await e.close();
  // A file no manifest row names: what a compaction that died before its commit leaves.
  mkdirSync(join(dir, 'segments', 'acme', '2023-11-14'), { recursive: true });
  const orphan = join(dir, 'segments', 'acme', '2023-11-14', 'seg_orphan.parquet');
  writeFileSync(orphan, 'partial');
  e = new DuckDBEngine(options(dir));
  await e.open();
  assert.equal(existsSync(orphan), false);
  assert.equal(await count(e), 100);
  await e.flush();
  assert.equal(await count(e), 100);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('restart: a head already recorded as compacted is dropped, not counted twice', async () => {
  const dir = tmp();
  let e = new DuckDBEngine(options(dir));
  await e.open();
  await e.append(batch(100, 0));
  await e.flush();
  await e.close();
  // Recreate what a crash between the manifest commit and deleting the head leaves behind.
  const db = await DuckDBInstance.create(join(dir, 'cairn.duckdb'));
  const c = await db.connect();
  const seg = (await c.runAndReadAll('SELECT path FROM segments')).getRows()[0]![0] as string;
  await c.run(`ATTACH '${join(dir, 'heads', 'head_zzz_1.duckdb')}' AS head_zzz_1`);
  await c.run(`CREATE TABLE head_zzz_1.log AS SELECT * FROM read_parquet('${join(dir, seg)}')`);
  await c.run("UPDATE segments SET source_head = 'head_zzz_1'");
  c.closeSync();
  db.closeSync();
  e = new DuckDBEngine(options(dir));
  await e.open();
  assert.equal(await count(e), 100);
  assert.equal(existsSync(join(dir, 'heads', 'head_zzz_1.duckdb')), false);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a bad regex is an error for that query, not for the store', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir));
  await e.open();
  await e.append(batch(10, 0));
  await assert.rejects(e.search(1, { ...everything, where: parseSearch('host:/(/'), limit: 1, order: 'desc' }));
  assert.equal(await count(e), 10);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('uncompacted rows stay bounded when appends outpace compaction', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir, { headMaxRows: 20, mergeMinSegments: 1000 }));
  await e.open();
  let worst = 0;
  for (let i = 0; i < 60; i++) {
    await e.append(batch(20, i * 20));
    worst = Math.max(worst, e.size().headRows);
  }
  assert.ok(worst <= 4 * 20 + 20, `head rows reached ${worst}`);
  await e.flush();
  assert.equal(await count(e), 1200);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('search reads newest sources first, stops early, and still finds rare matches in old ones', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir, { headMaxRows: 100, mergeMinSegments: 1000, searchGroupRows: 100 }));
  await e.open();
  for (let i = 0; i < 10; i++) await e.append(batch(100, i * 100));
  await e.flush();
  await e.append(batch(50, 1000)); // newest records stay in the head
  const newest = await e.search(1, { ...everything, where: ALL, limit: 5, order: 'desc' });
  assert.deepEqual(newest.map((r) => r.attrs.seq), [1049, 1048, 1047, 1046, 1045]);
  const oldest = await e.search(1, { ...everything, where: ALL, limit: 3, order: 'asc' });
  assert.deepEqual(oldest.map((r) => r.attrs.seq), [0, 1, 2]);
  // Matches spread over every segment: the top 3 come from the newest ones, in order.
  const spread = await e.search(1, { ...everything, where: parseSearch('timeout'), limit: 3, order: 'desc' });
  assert.deepEqual(spread.map((r) => r.attrs.seq), [1040, 1030, 1020]);
  // One match in the oldest segment only.
  const rare = await e.search(1, { ...everything, where: parseSearch('"request 7 ok"'), limit: 10, order: 'desc' });
  assert.deepEqual(rare.map((r) => r.attrs.seq), [7]);
  const many = await e.search(1, { ...everything, where: parseSearch('timeout'), limit: 1000, order: 'desc' });
  assert.equal(many.length, 105);
  assert.ok(many.every((r, i) => i === 0 || r.ts < many[i - 1]!.ts));
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the trigram index skips segments and heads that cannot contain a needle, and survives restart', async () => {
  const dir = tmp();
  let e = new DuckDBEngine(options(dir, { headMaxRows: 100, mergeMinSegments: 1000 }));
  await e.open();
  for (let i = 0; i < 10; i++) await e.append(batch(100, i * 100));
  await e.flush();
  const needle = toColumnBatch([newRecord({ ts: T0 + 500_000_000_000n, tenant: 'acme', message: 'a rare zq7needle4k here' }, T0)]);
  await e.append(needle);
  await e.append(batch(10, 2000)); // an active head without the needle
  let found = await e.search(1, { ...everything, where: parseSearch('zq7needle4k'), limit: 10, order: 'desc' });
  assert.equal(found.length, 1);
  assert.equal(e.lastQuery.read, 1, 'only the head holding the needle is read');
  assert.ok(e.lastQuery.pruned >= 10);
  await e.flush();
  await e.close();
  e = new DuckDBEngine(options(dir, { headMaxRows: 100, mergeMinSegments: 1000 }));
  await e.open();
  found = await e.search(1, { ...everything, where: parseSearch('ZQ7NEEDLE4K'), limit: 10, order: 'desc' });
  assert.equal(found.length, 1, 'case-insensitive');
  assert.equal(e.lastQuery.read, 1);
  const rows = await e.aggregate(1, { ...everything, where: parseSearch('timeout'), groupBy: [], measures: [{ fn: 'count' }] });
  assert.equal(rows[0]!.values[0], 101, 'segments holding the word are all read');
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('merged segments keep a filter that is the union of their inputs', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir, { headMaxRows: 100, mergeMinSegments: 3 }));
  await e.open();
  for (let i = 0; i < 6; i++) await e.append(batch(100, i * 100));
  await e.flush();
  const files = readdirSync(join(dir, 'segments', 'acme', '2023-11-14'));
  assert.ok(files.filter((f) => f.endsWith('.parquet')).length < 6, 'merged');
  assert.equal(files.filter((f) => f.endsWith('.tri')).length, files.filter((f) => f.endsWith('.parquet')).length);
  for (const q of ['"request 5 ok"', '"request 599 ok"', 'timeout']) {
    const found = await e.search(1, { ...everything, where: parseSearch(q), limit: 1000, order: 'desc' });
    assert.ok(found.length > 0, q);
  }
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a search that reads in groups keeps its sources while compaction retires them between groups', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir, { searchGroupRows: 1 }));
  await e.open();
  await e.append(batch(10, 0));
  await e.flush();
  await e.append(batch(10, 10));
  await e.flush();
  await e.append(batch(10, 20)); // stays in the head: oldest-first, it is the last group
  // Compaction runs (and drops the head it compacted) between the first and the second group.
  const engine = e as unknown as { acquireConn: () => Promise<unknown> };
  const acquire = engine.acquireConn.bind(e);
  let calls = 0;
  engine.acquireConn = async () => {
    if (++calls === 2) await e.flush();
    return acquire();
  };
  const found = await e.search(1, { ...everything, limit: 1000, order: 'asc' });
  assert.equal(calls, 3, 'one statement per group');
  assert.deepEqual(found.map((r) => r.attrs.seq), Array.from({ length: 30 }, (_, i) => i));
  engine.acquireConn = acquire;
  assert.equal(e.size().headRows, 0);
  assert.equal(await count(e), 30);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('segments of a head that a query still reads are not merged: the manifest keeps naming that head until it is gone', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir, { mergeMinSegments: 2 }));
  await e.open();
  await e.append(batch(10, 0));
  await e.flush();
  await e.append(batch(10, 10));
  // A query is reading the active head while it is compacted; the server stops before that query ends.
  const internals = e as unknown as { active: { readers: number } };
  internals.active.readers++;
  await e.flush();
  assert.equal(await count(e), 20);
  await e.close();
  const reopened = new DuckDBEngine(options(dir, { mergeMinSegments: 2 }));
  await reopened.open();
  assert.equal(await count(reopened), 20, 'the compacted head is not recovered a second time');
  await reopened.flush();
  assert.equal((await reopened.partitions())[0]!.segments, 1, 'the segments are merged once the head is gone');
  assert.equal(await count(reopened), 20);
  await reopened.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a day dropped while its head is being compacted does not come back from the new segments', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir));
  await e.open();
  await e.append(batch(10, 0, 'acme'));
  await e.append(batch(10, 0, 'acme', T0 + DAY));
  // The drop lands after compaction wrote the segment files, before it records them.
  const engine = e as unknown as { writeSegment: (...args: unknown[]) => Promise<unknown> };
  const write = engine.writeSegment.bind(e);
  let dropped: Promise<number> | null = null;
  engine.writeSegment = async (...args: unknown[]) => {
    const seg = await write(...args);
    dropped ??= e.dropPartition('acme', '2023-11-14');
    await dropped;
    return seg;
  };
  await e.flush();
  assert.equal(await dropped, 10);
  engine.writeSegment = write;
  assert.equal(await count(e), 10, 'only the other day is left');
  assert.deepEqual((await e.partitions()).map((p) => p.day), ['2023-11-15']);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a day dropped while its segments are being merged does not come back from the merged file', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir, { mergeMinSegments: 2 }));
  await e.open();
  const engine = e as unknown as { writeSegment: (...args: unknown[]) => Promise<unknown> };
  const write = engine.writeSegment.bind(e);
  let dropped: Promise<number> | null = null;
  engine.writeSegment = async (...args: unknown[]) => {
    const seg = await write(...args);
    if (args[6] !== 0) dropped ??= e.dropPartition('acme', '2023-11-14'); // level > 0: a merge
    if (dropped) await dropped;
    return seg;
  };
  await e.append(batch(10, 0));
  await e.flush();
  await e.append(batch(10, 10));
  await e.flush();
  assert.equal(await dropped, 20);
  engine.writeSegment = write;
  assert.equal(await count(e), 0);
  assert.deepEqual(await e.partitions(), []);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});

test('nothing is sent to the compaction connection while it copies (a waiting call holds a libuv thread)', async () => {
  const dir = tmp();
  const e = new DuckDBEngine(options(dir));
  await e.open();
  await e.append(batch(100, 0));
  const engine = e as unknown as { compactor: Record<'run' | 'runAndReadAll', (...a: unknown[]) => Promise<unknown>>; tick(): void };
  let copying = false;
  const behindCopy: string[] = [];
  for (const method of ['run', 'runAndReadAll'] as const) {
    const original = engine.compactor[method].bind(engine.compactor);
    engine.compactor[method] = async (...args: unknown[]) => {
      const sql = String(args[0]);
      if (copying) behindCopy.push(sql.slice(0, 40));
      if (!sql.startsWith('COPY')) return original(...args);
      copying = true;
      // The once-a-second sampler and the partitions API fire while the COPY runs.
      engine.tick();
      const parts = e.partitions();
      try {
        return await original(...args);
      } finally {
        copying = false;
        await parts;
      }
    };
  }
  await e.flush();
  assert.deepEqual(behindCopy, []);
  await e.close();
  rmSync(dir, { recursive: true, force: true });
});
