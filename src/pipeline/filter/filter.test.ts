import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildStage, record } from '../../../test/helpers/pipeline.ts';
import { StageConfigError } from '../options.ts';

test('drop by a query: debug lines in production', async () => {
  const { run, count } = buildStage('f', { type: 'filter', drop: 'severity=debug env:production' });
  const out = await run([
    record('cache miss', { severity: 7, attrs: { env: 'production' } }),
    record('cache miss', { severity: 7, attrs: { env: 'staging' } }),
    record('disk full', { severity: 3, attrs: { env: 'production' } }),
  ]);
  assert.deepEqual(out.map((r) => [r.message, r.attrs.env]), [['cache miss', 'staging'], ['disk full', 'production']]);
  assert.equal(await count('pipeline_dropped_total', { stage: 'f', reason: 'filter' }), 1);
  assert.equal(await count('pipeline_records_total', { stage: 'f', result: 'in' }), 3);
  assert.equal(await count('pipeline_records_total', { stage: 'f', result: 'out' }), 2);
  assert.equal(await count('pipeline_records_total', { stage: 'f', result: 'dropped' }), 1);
});

test('keep by a query with OR, globs and negation', async () => {
  const { run } = buildStage('f', { type: 'filter', keep: '(level>=warning OR service:pay*) -host:test-*' });
  const out = await run([
    record('a', { severity: 3, host: 'web-1' }),
    record('b', { severity: 6, service: 'payments', host: 'web-2' }),
    record('c', { severity: 6, service: 'shop', host: 'web-3' }),
    record('d', { severity: 2, host: 'test-1' }),
  ]);
  assert.deepEqual(out.map((r) => r.message), ['a', 'b']);
});

test('sampling 1 in N of what `where` selects, kept records carry the rate', async () => {
  const { run, count } = buildStage('f', { type: 'filter', sample: { one_in: 10, where: 'level=info' } });
  const records = Array.from({ length: 100 }, (_, i) => record(`m${i}`, { severity: i % 2 === 0 ? 6 : 3 }));
  const out = await run(records);
  const info = out.filter((r) => r.severity === 6);
  assert.equal(info.length, 5, '50 info lines, 1 in 10 kept');
  assert.ok(info.every((r) => r.attrs.sample_rate === 10));
  assert.equal(out.filter((r) => r.severity === 3).length, 50, 'lines not selected are all kept, without a rate');
  assert.ok(out.filter((r) => r.severity === 3).every((r) => r.attrs.sample_rate === undefined));
  assert.equal(await count('pipeline_dropped_total', { stage: 'f', reason: 'sampled' }), 45);
});

test('regexes in filters run in bounded time; (?i) and globs are made linear', async () => {
  const { run } = buildStage('f', { type: 'filter', drop: 'message:/(?i)(A+)+$/ OR host:/^db-\\d+$/' });
  const started = performance.now();
  const out = await run([record('a'.repeat(100_000) + '!'), record('AAA'), record('x', { host: 'db-12' }), record('x', { host: 'DB-12' })]);
  assert.ok(performance.now() - started < 2000);
  assert.deepEqual(out.map((r) => r.message.slice(0, 3) + ':' + r.host), ['aaa:web-1', 'x:DB-12']);
  const glob = buildStage('f', { type: 'filter', keep: 'host:WEB-*' });
  assert.equal((await glob.run([record('x', { host: 'web-7' }), record('y', { host: 'db-1' })])).length, 1, 'host globs ignore case, as in search');
});

test('bad queries and unbounded regexes are configuration errors naming the key', () => {
  const problems = (options: Record<string, unknown>) => {
    try {
      buildStage('f', { type: 'filter', ...options });
    } catch (err) {
      assert.ok(err instanceof StageConfigError, String(err));
      return err.problems.map((p) => `${p.key}: ${p.message}`);
    }
    assert.fail('expected a StageConfigError');
  };
  assert.match(problems({ drop: '(level:err' })[0]!, /^drop: "\(level:err": /);
  assert.match(problems({ keep: 'message:/(a)\\1/' })[0]!, /^keep: .*cannot run in linear time/);
  assert.match(problems({ sample: { one_in: 5, where: 'trace_id:/[0-9a-f]{32}/' } })[0]!, /^sample\.where: .*counted repetition/);
  assert.match(problems({})[0]!, /give drop, keep or sample/);
  assert.match(problems({ sample: { one_in: 1 } })[0]!, /^sample\.one_in: /);
});
