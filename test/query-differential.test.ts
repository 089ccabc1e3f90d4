/**
 * Differential test: generated queries in both syntaxes over generated
 * records, run through a real server (SQL pushed down to DuckDB, head and
 * Parquet segments), must answer exactly what a brute-force reference over
 * the same records answers:
 * - search syntax: the AST evaluated record by record (evaluate.ts);
 * - LogQL log queries: every record through the pipeline (pipeline.ts);
 * - LogQL metric queries: every step's window (t - range, t] counted by
 *   scanning all records, then aggregated by the plain code below.
 * Also: SQL injection attempts through every field, function, parameter and
 * label name. Seeded: CAIRN_DIFF_SEED=<n> reproduces a run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { json, postLogs, startTestServer, type TestServer } from './helpers/server.ts';
import type { LogRecord, RecordJson } from '../src/record/record.ts';
import { parseSearch } from '../src/query/search.ts';
import { compileMatcher } from '../src/query/evaluate.ts';
import { parseLogQL } from '../src/query/logql/parser.ts';
import { Pipeline } from '../src/query/logql/pipeline.ts';
import { planSelector } from '../src/query/logql/plan.ts';
import type { MetricExpr } from '../src/query/logql/ast.ts';
import { labelsKey } from '../src/query/labels.ts';
import { recordId } from '../src/record/id.ts';

const SEED = Number(process.env.CAIRN_DIFF_SEED ?? 20240611);
const RECORDS = 3000;
const QUERIES = Number(process.env.CAIRN_DIFF_QUERIES ?? 250);
const MS = 1_000_000n;
const S = 1_000_000_000n;

function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}

const WORDS = ['connection', 'timeout', 'reset', 'user', 'login', 'failed', 'accepted', 'GET', 'POST', 'error', 'disk', 'full', 'retry', 'cache', 'miss', 'session', 'expired', 'token', 'upstream', 'slow', 'query'];
const HOSTS = ['web-1', 'web-2', 'WEB-3', 'db-1', ''];
const SERVICES = ['api', 'db', 'auth', ''];
const UNITS = ['nginx', 'postgres', 'sshd', ''];
const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
const PATHS = ['/api/items', '/api/users', '/login', '/health'];
const NAMES = ['alice', 'bob', 'carol', 'dave'];

function generateRecords(r: ReturnType<typeof prng>, startMs: number): unknown[] {
  const out: unknown[] = [];
  let tsNs = BigInt(startMs) * MS;
  for (let i = 0; i < RECORDS; i++) {
    tsNs += BigInt(1 + r.int(4000)) * MS + BigInt(r.int(1000)); // unique, increasing
    const kind = r.next();
    let message: string;
    const status = r.pick([200, 200, 404, 500, 503]);
    const method = r.pick(['GET', 'POST']);
    const path = r.pick(PATHS);
    if (kind < 0.45) {
      const n = 3 + r.int(6);
      const words = Array.from({ length: n }, () => (r.chance(0.1) ? r.pick(WORDS).toUpperCase() : r.pick(WORDS)));
      message = words.join(' ') + (r.chance(0.3) ? ` id=${r.int(100)}` : '');
    } else if (kind < 0.7) {
      message = `method=${method} path=${path} status=${status} duration=${r.int(50)}ms user=${r.pick(NAMES)}`;
    } else if (kind < 0.95) {
      const obj: Record<string, unknown> = { status, method, path, user: { id: r.int(10), name: r.pick(NAMES) } };
      if (r.chance(0.7)) obj.latency = r.int(3000) / 10;
      if (r.chance(0.2)) obj.host = 'from-json';
      message = JSON.stringify(obj);
    } else {
      message = `\u001b[31m${r.pick(WORDS)}\u001b[0m ${method} ${path} status=${status}`;
    }
    const attrs: Record<string, unknown> = {};
    if (r.chance(0.8)) attrs.http = { status: r.pick([200, 404, 500]), ...(r.chance(0.5) ? { method } : {}) };
    if (r.chance(0.6)) attrs.user = { id: r.int(10), name: r.pick(NAMES) };
    if (r.chance(0.5)) attrs.tier = r.pick(['gold', 'free']);
    if (r.chance(0.4)) attrs.latency_ms = r.int(5000) / 10;
    if (r.chance(0.1)) attrs['req.id'] = `r${r.int(50)}`;
    const rec: Record<string, unknown> = {
      ts: tsNs.toString(),
      message,
      level: r.pick(LEVELS),
      os: r.pick(['linux', 'windows']),
      type: r.pick(['system', 'application']),
      attrs,
    };
    for (const [k, vs] of [['host', HOSTS], ['service', SERVICES], ['unit', UNITS]] as const) {
      const v = r.pick(vs);
      if (v !== '') rec[k] = v;
    }
    out.push(rec);
  }
  return out;
}

function fromJson(j: RecordJson): LogRecord {
  return {
    ts: BigInt(j.ts_ns), observed_ts: 0n, tenant: j.tenant, os: j.os as LogRecord['os'], host: j.host, unit: j.unit, service: j.service,
    severity: j.severity, type: j.type as LogRecord['type'], message: j.message, trace_id: j.trace_id, span_id: j.span_id,
    correlation_id: j.correlation_id, template_id: j.template_id, attrs: j.attrs, raw: null,
  };
}

// ---------------------------------------------------------------- generators

function searchQuery(r: ReturnType<typeof prng>, records: LogRecord[], depth = 0): string {
  if (depth < 2 && r.chance(0.45)) {
    const a = searchQuery(r, records, depth + 1);
    const b = searchQuery(r, records, depth + 1);
    return r.pick([`${a} ${b}`, `${a} AND ${b}`, `${a} OR ${b}`, `(${a} OR ${b}) ${searchQuery(r, records, depth + 1)}`, `NOT (${a})`, `-(${b})`]);
  }
  const rec = r.pick(records);
  const word = r.pick(WORDS);
  const casey = (w: string) => (r.chance(0.3) ? w.toUpperCase() : w);
  switch (r.int(16)) {
    case 0:
      return casey(word);
    case 1:
      return `${word.slice(0, 2 + r.int(3))}*`;
    case 2: {
      const words = rec.message.split(' ');
      const i = r.int(Math.max(1, words.length - 1));
      return JSON.stringify(words.slice(i, i + 2).join(' '));
    }
    case 3:
      return `host:${r.chance(0.5) ? r.pick(HOSTS.filter(Boolean)).toUpperCase() : r.pick(HOSTS.filter(Boolean))}`;
    case 4:
      return r.pick(['host:web-*', 'service:a*', 'unit:/ngi.x|sshd/', 'os:Windows', 'type:system', 'service:api', 'unit:postgres', 'host:*']);
    case 5:
      return `level${r.pick(['>=', '<=', '>', '<', ':', '!='])}${r.pick(LEVELS.concat(['error', 'warn', '3']))}`;
    case 6:
      return r.pick(['attrs.http.status:500', 'attrs.http.status>=400', 'attrs.user.id<5', 'attrs.latency_ms>100.5', 'attrs.tier:gold', 'attrs.latency_ms:*', 'tier:free', 'attrs.user.name:/^[ab]/', 'attrs.http.method:*']);
    case 7:
      return `id:${recordId(rec)}`;
    case 8:
      return `ts${r.pick(['>=', '<'])}${rec.ts.toString()}`;
    case 9:
      return r.pick(['message:*time*', 'msg:"status=500"', 'message:/\\d{3}ms/']);
    case 10:
      return `-${casey(word)}`;
    case 11:
      return r.pick(['status>=500', 'attrs.http.status!=200', 'severity=3', 'latency_ms<=50']);
    default:
      return casey(word);
  }
}

const MATCHERS = [
  'service="api"', 'service!="db"', 'host=~"web-[12]"', 'host!~"db-.*"', 'level="err"', 'level=~"err|warning|crit"',
  'level="error"', 'os="windows"', 'unit=~".+"', 'tier="gold"', 'host=""', 'service=~"a.*|db"', 'http_status="500"', 'user_name!="bob"',
];

const LINE_FILTERS = ['|~ "(?i)time(out)?"', '|~ "status=5\\\\d\\\\d"', '!~ "GET|POST"', '|> "<_> status=<_>"', '|= ""'];
const PARSED_FILTERS = ['status>=400', 'status="500"', 'status!="200"', 'method=~"G.*"', 'path="/api/items"', 'user_id="3"', 'latency > 10', 'duration > 5ms', '__error__=""', '(status>=500 or method="POST")', 'user="alice"', 'st=~"5.."', 'host="from-json"'];
const PLAIN_FILTERS = ['tier="gold"', 'host="web-1"', 'level="err"', 'http_status="500"', 'latency_ms >= 100', 'user_name=~"a.*"', 'service!="auth" and tier!="free"'];

function logSelector(r: ReturnType<typeof prng>, light = false): string {
  const n = 1 + r.int(2);
  const ms = Array.from({ length: n }, () => r.pick(MATCHERS));
  let q = `{${ms.join(', ')}}`;
  const stages = r.int(light ? 3 : 5);
  let parsed = false;
  for (let i = 0; i < stages; i++) {
    const k = r.int(10);
    if (k < 3) {
      const w = r.pick(WORDS);
      q += ' ' + r.pick([...LINE_FILTERS, `|= "${w}"`, `!= "${w}"`, `|= "${w}" or "${r.pick(WORDS)}"`]);
    } else if (k < 5) {
      parsed = true;
      q += ' ' + r.pick(['| json', '| logfmt', '| regexp "(?P<method>GET|POST) (?P<path>\\\\S+)"', '| pattern "<_> status=<status> <_>"', '| json st="status", user="user.name"']);
      if (r.chance(0.6)) q += ` | ${r.pick(PARSED_FILTERS)}`;
    } else if (k < 8) {
      q += ` | ${r.pick(parsed ? PARSED_FILTERS.concat(PLAIN_FILTERS) : PLAIN_FILTERS)}`;
    } else {
      q += ' ' + r.pick(['| line_format "{{.service}}: {{.status}} {{__line__ | lower}}"', '| label_format svc=service', '| label_format st="{{.status}}-x"', '| drop host', '| keep service, level', '| decolorize', '| drop __error__']);
    }
  }
  return q;
}

function metricQuery(r: ReturnType<typeof prng>): string {
  const fn = r.pick(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate']);
  const rng = r.pick(['30s', '1m', '5m', '17m']);
  const inner = `${fn}(${logSelector(r, true)} [${rng}])`;
  const outer = r.pick([
    (x: string) => x,
    (x: string) => `sum(${x})`,
    (x: string) => `sum by (service) (${x})`,
    (x: string) => `sum by (level, status) (${x})`,
    (x: string) => `sum without (host) (${x})`,
    (x: string) => `avg by (service) (${x})`,
    (x: string) => `max(${x})`,
    (x: string) => `min by (host) (${x})`,
    (x: string) => `count by (level) (${x})`,
    (x: string) => `topk(2, sum by (host) (${x}))`,
    (x: string) => `bottomk(1, ${x})`,
    (x: string) => `stddev by (service) (${x})`,
    (x: string) => `sum by (tier) (${x})`,
  ]);
  const e = outer(inner);
  return r.pick([e, e, e, `${e} * 2`, `${e} > 3`, `sum(${inner}) / 2 + 1`]);
}

// ---------------------------------------------------------------- reference

type Matrix = Map<string, { labels: Record<string, string>; values: Map<number, number> }>;

function refMetric(e: MetricExpr, steps: bigint[], records: LogRecord[]): Matrix | number {
  switch (e.type) {
    case 'number':
      return e.value;
    case 'vector':
      return new Map([['', { labels: {}, values: new Map(steps.map((_, i) => [i, e.value])) }]]);
    case 'paren':
      return refMetric(e.inner, steps, records);
    case 'range_agg': {
      const p = new Pipeline(e.selector);
      const results = records.map((rec) => ({ rec, res: p.process(rec) }));
      const out: Matrix = new Map();
      steps.forEach((t, i) => {
        for (const { rec, res } of results) {
          if (!res || rec.ts <= t - e.rangeNs || rec.ts > t) continue;
          const labels = res.labels.allLabels();
          const key = labelsKey(labels);
          if (!out.has(key)) out.set(key, { labels, values: new Map() });
          const v = e.fn.startsWith('bytes') ? Buffer.byteLength(res.line) : 1;
          const s = out.get(key)!;
          s.values.set(i, (s.values.get(i) ?? 0) + v);
        }
      });
      if (e.fn === 'rate' || e.fn === 'bytes_rate') for (const s of out.values()) for (const [i, v] of s.values) s.values.set(i, v / (Number(e.rangeNs) / 1e9));
      return out;
    }
    case 'vector_agg': {
      const inner = refMetric(e.inner, steps, records) as Matrix;
      const group = (labels: Record<string, string>) => {
        if (!e.grouping) return {};
        if (e.grouping.without) return Object.fromEntries(Object.entries(labels).filter(([k]) => !e.grouping!.labels.includes(k)));
        return Object.fromEntries(Object.entries(labels).filter(([k]) => e.grouping!.labels.includes(k)));
      };
      const out: Matrix = new Map();
      if (e.op === 'topk' || e.op === 'bottomk') {
        steps.forEach((_, i) => {
          const byGroup = new Map<string, { key: string; labels: Record<string, string>; v: number }[]>();
          for (const [key, s] of inner) {
            if (!s.values.has(i)) continue;
            const g = labelsKey(group(s.labels));
            if (!byGroup.has(g)) byGroup.set(g, []);
            byGroup.get(g)!.push({ key, labels: s.labels, v: s.values.get(i)! });
          }
          for (const members of byGroup.values()) {
            members.sort((a, b) => (a.v !== b.v ? (e.op === 'topk' ? b.v - a.v : a.v - b.v) : a.key < b.key ? -1 : 1));
            for (const m of members.slice(0, e.param)) {
              if (!out.has(m.key)) out.set(m.key, { labels: m.labels, values: new Map() });
              out.get(m.key)!.values.set(i, m.v);
            }
          }
        });
        return out;
      }
      steps.forEach((_, i) => {
        const groups = new Map<string, { labels: Record<string, string>; xs: number[] }>();
        for (const s of inner.values()) {
          if (!s.values.has(i)) continue;
          const labels = group(s.labels);
          const g = labelsKey(labels);
          if (!groups.has(g)) groups.set(g, { labels, xs: [] });
          groups.get(g)!.xs.push(s.values.get(i)!);
        }
        for (const [g, { labels, xs }] of groups) {
          const sum = xs.reduce((a, b) => a + b, 0);
          const mean = sum / xs.length;
          const v = { sum, avg: mean, min: Math.min(...xs), max: Math.max(...xs), count: xs.length, stddev: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length), stdvar: xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length }[e.op as 'sum'];
          if (!out.has(g)) out.set(g, { labels, values: new Map() });
          out.get(g)!.values.set(i, v);
        }
      });
      return out;
    }
    case 'binary': {
      const a = refMetric(e.left, steps, records);
      const b = refMetric(e.right, steps, records);
      const f = (x: number, y: number) => ({ '+': x + y, '-': x - y, '*': x * y, '/': x / y, '%': x % y, '^': x ** y, '==': +(x === y), '!=': +(x !== y), '>': +(x > y), '<': +(x < y), '>=': +(x >= y), '<=': +(x <= y) })[e.op];
      const cmp = ['==', '!=', '>', '<', '>=', '<='].includes(e.op) && !e.bool;
      if (typeof a === 'number' && typeof b === 'number') return f(a, b);
      const out: Matrix = new Map();
      const vec = (typeof a === 'number' ? b : a) as Matrix;
      for (const [key, s] of vec) {
        const values = new Map<number, number>();
        for (const [i, x] of s.values) {
          let y: number | undefined;
          if (typeof a === 'number') y = f(a, x);
          else if (typeof b === 'number') y = f(x, b);
          else {
            const other = (b as Matrix).get(key)?.values.get(i);
            if (other === undefined) continue;
            y = f(x, other);
          }
          if (cmp) {
            if (y === 1) values.set(i, x);
          } else values.set(i, y);
        }
        out.set(key, { labels: s.labels, values });
      }
      return out;
    }
  }
}

function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

// ---------------------------------------------------------------- the test

describe('differential: API vs brute-force reference', () => {
  let s: TestServer;
  let records: LogRecord[];
  let fromNs: bigint;
  let toNs: bigint;
  const r = prng(SEED);

  before(async () => {
    s = await startTestServer({ query: { max_series: 20_000, max_limit: 10_000 } });
    const startMs = Date.now() - 4 * 3_600_000;
    const generated = generateRecords(r, startMs);
    // Half the records end up in Parquet segments, half stay in the head table.
    for (let i = 0; i < generated.length; i += 500) {
      const res = await postLogs(s.url, generated.slice(i, i + 500));
      assert.equal(res.status, 200, await res.text());
      if (i === 1500) await s.store.flush();
    }
    fromNs = BigInt(startMs) * MS;
    toNs = fromNs + 4n * 3_600_000n * MS;
    const all = await fetch(`${s.url}/api/v1/query?${new URLSearchParams({ from: fromNs.toString(), to: toNs.toString(), limit: '10000', order: 'asc' })}`);
    records = (await json(all)).records.map(fromJson);
    assert.equal(records.length, RECORDS);
  });
  after(() => s.stop());

  const fail = (what: string, q: string, detail: string) => assert.fail(`${what} differs (seed ${SEED}) for ${JSON.stringify(q)}: ${detail}`);

  test('search syntax: records and their order', async () => {
    for (let n = 0; n < QUERIES; n++) {
      const q = searchQuery(r, records);
      const a = records[r.int(records.length)]!.ts;
      const b = records[r.int(records.length)]!.ts;
      const from = a < b ? a : b;
      const to = a < b ? b : a;
      const limit = r.pick([5, 50, 10_000]);
      const order = r.pick(['asc', 'desc'] as const);
      const res = await fetch(`${s.url}/api/v1/query?${new URLSearchParams({ q, from: from.toString(), to: to.toString(), limit: String(limit), order })}`);
      const body = await json(res);
      if (res.status !== 200) fail('status', q, JSON.stringify(body));
      const match = compileMatcher(parseSearch(q));
      let want = records.filter((x) => x.ts >= from && x.ts <= to && match(x));
      if (order === 'desc') want = want.reverse();
      want = want.slice(0, limit);
      const got = body.records.map((x: RecordJson) => x.id);
      const expected = want.map((x) => recordId(x));
      if (JSON.stringify(got) !== JSON.stringify(expected)) fail('search', q, `got ${got.length} ids, want ${expected.length}`);
    }
  });

  test('search syntax: counts per bucket and group (stats)', async () => {
    for (let n = 0; n < QUERIES / 5; n++) {
      const q = searchQuery(r, records);
      const by = r.pick(['service', 'level', 'host', 'attrs.tier']);
      const res = await fetch(`${s.url}/api/v1/stats?${new URLSearchParams({ q, from: fromNs.toString(), to: toNs.toString(), step: '10m', by, limit: '1000' })}`);
      const body = await json(res);
      if (res.status !== 200) fail('status', q, JSON.stringify(body));
      const match = compileMatcher(parseSearch(q));
      const stepNs = 600n * S;
      const want = new Map<string, number>();
      for (const x of records) {
        if (!match(x)) continue;
        const bucket = (x.ts / stepNs) * stepNs;
        want.set(bucket.toString(), (want.get(bucket.toString()) ?? 0) + 1);
      }
      for (const b of body.buckets) {
        const t = (BigInt(Date.parse(b.ts)) * MS).toString();
        const sum = Object.values(b.groups as Record<string, number>).reduce((x, y) => x + y, 0);
        if (b.count !== (want.get(t) ?? 0) || sum !== b.count) fail('stats', q, `bucket ${b.ts}: ${b.count} (groups ${sum}) vs ${want.get(t) ?? 0}`);
      }
    }
  });

  test('LogQL log queries: lines, labels and order', async () => {
    let exact = 0;
    let nonEmpty = 0;
    for (let n = 0; n < QUERIES; n++) {
      const q = logSelector(r);
      const a = records[r.int(records.length)]!.ts;
      const b = records[r.int(records.length)]!.ts + 1n;
      const start = a < b ? a : b;
      const end = a < b ? b : a;
      const limit = r.pick([3, 40, 5000]);
      const direction = r.pick(['forward', 'backward'] as const);
      const res = await fetch(`${s.url}/loki/api/v1/query_range?${new URLSearchParams({ query: q, start: start.toString(), end: end.toString(), limit: String(limit), direction })}`);
      const body = await json(res);
      if (res.status !== 200) fail('status', q, JSON.stringify(body));
      const got = body.data.result
        .flatMap((st: { stream: Record<string, string>; values: [string, string][] }) => st.values.map(([ts, line]) => ({ ts: BigInt(ts), line, labels: labelsKey(st.stream) })))
        .sort((x: { ts: bigint }, y: { ts: bigint }) => (direction === 'forward' ? (x.ts < y.ts ? -1 : 1) : x.ts > y.ts ? -1 : 1));
      const parsed = parseLogQL(q);
      assert.equal(parsed.kind, 'log');
      const selector = parsed.kind === 'log' ? parsed.selector : (undefined as never);
      if (planSelector(selector).exact) exact++;
      const pipeline = new Pipeline(selector);
      let want = records
        .filter((x) => x.ts >= start && x.ts < end)
        .flatMap((x) => {
          const out = pipeline.process(x);
          return out ? [{ ts: x.ts, line: out.line, labels: labelsKey(out.labels.allLabels()) }] : [];
        });
      if (direction === 'backward') want = want.reverse();
      want = want.slice(0, limit);
      if (want.length > 0) nonEmpty++;
      if (got.length !== want.length) fail('log query', q, `got ${got.length} lines, want ${want.length}`);
      want.forEach((w, i) => {
        const g = got[i];
        if (g.ts !== w.ts || g.line !== w.line || g.labels !== w.labels) fail('log query', q, `line ${i}: ${JSON.stringify({ ...g, ts: String(g.ts) })} vs ${JSON.stringify({ ...w, ts: String(w.ts) })}`);
      });
    }
    // The generated queries exercise both the store's SQL alone and the in-process post-filter, on real answers.
    assert.ok(exact > QUERIES * 0.25 && exact < QUERIES * 0.9, `${exact} of ${QUERIES} queries ran in the store alone`);
    assert.ok(nonEmpty > QUERIES * 0.4, `${nonEmpty} of ${QUERIES} queries found lines`);
  });

  test('LogQL metric queries: series and values at every step, range and instant', async () => {
    let inStore = 0;
    let nonEmpty = 0;
    for (let n = 0; n < QUERIES / 2; n++) {
      const q = metricQuery(r);
      const instant = r.chance(0.3);
      const stepMs = BigInt(r.pick([10_000, 60_000, 137_000, 300_000]));
      const startNs = ((records[r.int(records.length - 200)]!.ts / MS) * MS) as bigint;
      const steps = instant ? 1 : 1 + r.int(60);
      const endNs = startNs + BigInt(steps - 1) * stepMs * MS;
      const params: Record<string, string> = instant ? { query: q, time: startNs.toString() } : { query: q, start: startNs.toString(), end: endNs.toString(), step: `${stepMs}ms` };
      const res = await fetch(`${s.url}/loki/api/v1/${instant ? 'query' : 'query_range'}?${new URLSearchParams(params)}`);
      const body = await json(res);
      if (res.status !== 200) fail('status', q, JSON.stringify(body));
      const times = Array.from({ length: steps }, (_, i) => startNs + BigInt(i) * stepMs * MS);
      const ref = refMetric((parseLogQL(q) as { expr: MetricExpr }).expr, times, records);
      if (typeof ref === 'number') {
        assert.equal(Number(instant ? body.data.result[1] : body.data.result[0].values[0][1]), ref);
        continue;
      }
      const want = new Map([...ref.values()].filter((x) => x.values.size > 0).map((x) => [labelsKey(x.labels), x.values]));
      if (want.size > 0) {
        nonEmpty++;
        // Counted in the store: no rows came back to be counted in process.
        if (body.data.stats.summary.totalBytesProcessed === 0) inStore++;
      }
      const got = new Map<string, Map<number, number>>();
      for (const series of body.data.result) {
        const values = new Map<number, number>();
        const points: [number, string][] = instant ? [series.value] : series.values;
        for (const [t, v] of points) values.set(Math.round((t * 1000 - Number(startNs / MS)) / Number(stepMs)), Number(v));
        got.set(labelsKey(series.metric), values);
      }
      if (got.size !== want.size) fail('metric', q, `got ${got.size} series, want ${want.size}: ${[...got.keys()].slice(0, 3)} vs ${[...want.keys()].slice(0, 3)}`);
      for (const [key, values] of want) {
        const g = got.get(key);
        if (!g) fail('metric', q, `series ${key} is missing`);
        if (g!.size !== values.size) fail('metric', q, `series ${key}: ${g!.size} points, want ${values.size}`);
        for (const [i, v] of values) if (!close(g!.get(i)!, v)) fail('metric', q, `series ${key} step ${i}: ${g!.get(i)} vs ${v}`);
      }
    }
    assert.ok(nonEmpty > QUERIES * 0.2, `${nonEmpty} of ${QUERIES / 2} metric queries had series`);
    assert.ok(inStore > nonEmpty * 0.25 && inStore < nonEmpty, `${inStore} of ${nonEmpty} metric queries were counted in the store`);
  });

  test('SQL injection through every field, function, parameter and label name finds only literal matches', async () => {
    const evil = ["'; DROP TABLE segments; --", "' OR '1'='1", '" OR 1=1 --', '%_\\', "a'b\"c`d", ')); SELECT 1; --', '$1', "\\'", '\u0000x'];
    const planted = { message: `literal ${evil[0]} ${evil[1]}`, host: evil[0], service: evil[4], attrs: { [evil[1]!]: evil[2], nested: { k: evil[3] } } };
    assert.equal((await postLogs(s.url, [planted])).status, 200);
    const count = async () => (await json(await fetch(`${s.url}/api/v1/stats?${new URLSearchParams({ from: fromNs.toString(), to: (toNs + 48n * 3_600_000n * MS).toString() })}`))).buckets.reduce((a: number, b: { count: number }) => a + b.count, 0);
    const total = await count();
    const status = (res: Response) => {
      assert.ok(res.status === 200 || res.status === 400, `status ${res.status}`);
      return res.status;
    };
    const wide = { from: fromNs.toString(), to: (toNs + 48n * 3_600_000n * MS).toString() };
    for (const v of evil) {
      const quoted = JSON.stringify(v);
      for (const q of [v, quoted, `host:${quoted}`, `service:${quoted}`, `attrs.nested.k:${quoted}`, `host:${quoted}*`, `unit:/${v.replace(/\//g, '\\/')}/`, `attrs.x>${quoted}`, `level:${quoted}`]) {
        const res = await fetch(`${s.url}/api/v1/query?${new URLSearchParams({ q, ...wide })}`);
        if (status(res) === 200) {
          const found = (await json(res)).records;
          assert.ok(found.every((x: RecordJson) => compileMatcher(parseSearch(q))(fromJson(x))), q);
        }
      }
      for (const path of [`/api/v1/fields/${encodeURIComponent(v)}/values`, `/api/v1/fields/attrs.${encodeURIComponent(v)}/distinct`, `/api/v1/fields/x/percentiles?p=${encodeURIComponent(v)}`]) {
        const res = await fetch(`${s.url}${path}`);
        assert.ok(res.status === 200 || res.status === 400, `${path}: ${res.status}`);
      }
      for (const param of ['from', 'to', 'limit', 'order', 'step', 'by']) {
        const res = await fetch(`${s.url}/api/v1/stats?${new URLSearchParams({ ...wide, [param]: v })}`);
        assert.ok(res.status === 200 || res.status === 400, `${param}: ${res.status}`);
      }
      const logql = [
        `{host=${quoted}}`, `{service=~${quoted}}`, `{host="x"} |= ${quoted}`, `{host!="x"} |~ ${JSON.stringify(v.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'))}`,
        `{host!="x"} | json | status=${quoted}`, `{host!="x"} | json a=${JSON.stringify(`["${v.replace(/["\\]/g, '')}"]`)}`, `{host!="x"} | logfmt | ${'x'}=${quoted}`,
        `{host!="x"} | line_format ${JSON.stringify(`{{.host}} ${v.replace(/[{}]/g, '')}`)}`, `{host!="x"} | label_format a=${quoted}`, `{host!="x"} | regexp "(?P<a>${v.replace(/[\\^$.*+?()[\]{}|"]/g, '')})"`,
        `sum by (host) (count_over_time({host=${quoted}} [1h]))`, `{${'tier'}=${quoted}}`,
      ];
      for (const q of logql) {
        for (const path of ['/loki/api/v1/query_range', '/loki/api/v1/series', '/loki/api/v1/labels', '/loki/api/v1/index/stats']) {
          const res = await fetch(`${s.url}${path}?${new URLSearchParams({ query: q, 'match[]': q, start: wide.from, end: wide.to })}`);
          assert.ok(res.status === 200 || res.status === 400, `${path} ${q}: ${res.status} ${await res.text()}`);
        }
      }
      for (const param of ['start', 'end', 'step', 'limit', 'direction', 'since', 'time']) {
        const res = await fetch(`${s.url}/loki/api/v1/query_range?${new URLSearchParams({ query: '{host="x"}', [param]: v })}`);
        assert.ok(res.status === 200 || res.status === 400, `${param}: ${res.status}`);
      }
      const label = await fetch(`${s.url}/loki/api/v1/label/${encodeURIComponent(v)}/values`);
      assert.equal(label.status, 400);
    }
    // The planted record is found by its literal values, and nothing was dropped or changed.
    const byHost = await json(await fetch(`${s.url}/loki/api/v1/query_range?${new URLSearchParams({ query: `{host=${JSON.stringify(evil[0])}, service=${JSON.stringify(evil[4])}}`, start: wide.from, end: wide.to })}`));
    assert.equal(byHost.data.result.length, 1);
    const byMeta = await json(await fetch(`${s.url}/api/v1/query?${new URLSearchParams({ q: `attrs.nested.k:${JSON.stringify(evil[3])} ${JSON.stringify(evil[1])}`, ...wide })}`));
    assert.equal(byMeta.records.length, 1);
    assert.equal(await count(), total);
  });
});
