/**
 * logcli, Loki's own command-line client, against a real `cairn server`
 * process: labels, series, log and metric queries, stats and live tail, with
 * the token as bearer token and as basic-auth password. scripts/install-deps.sh
 * builds logcli (into ~/.cache/cairn-tools/bin unless CAIRN_TOOLS_DIR says).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TokenStore } from '../../src/auth/tokens.ts';
import { postLogs, startChildServer, tempDir, type ChildServer } from '../helpers/server.ts';

const run = promisify(execFile);

function findLogcli(): string {
  const tools = join(process.env.CAIRN_TOOLS_DIR ?? join(homedir(), '.cache', 'cairn-tools'), 'bin', 'logcli');
  if (existsSync(tools)) return tools;
  const which = spawnSync('sh', ['-c', 'command -v logcli'], { encoding: 'utf8' });
  if (which.status === 0) return which.stdout.trim();
  throw new Error('logcli not found: run scripts/install-deps.sh');
}

describe('logcli against cairn', () => {
  const logcli = findLogcli();
  const dataDir = tempDir('cairn-logcli-');
  let server: ChildServer;
  let token: string;
  let env: Record<string, string>;

  before(async () => {
    token = new TokenStore(dataDir).create({ tenant: 'acme', role: 'admin' }).token;
    server = await startChildServer(dataDir, [], { CAIRN_AUTH__MODE: 'token' });
    env = { ...process.env, LOKI_ADDR: server.url, LOKI_BEARER_TOKEN: token } as Record<string, string>;
    const now = Date.now();
    const records = [
      { ts: new Date(now - 120_000).toISOString(), message: 'connection reset by peer', service: 'api', host: 'web-1', level: 'error' },
      { ts: new Date(now - 110_000).toISOString(), message: 'method=GET path=/items status=500 duration=12ms', service: 'api', host: 'web-2' },
      { ts: new Date(now - 100_000).toISOString(), message: 'method=GET path=/items status=200 duration=3ms', service: 'api', host: 'web-2' },
      { ts: new Date(now - 90_000).toISOString(), message: '{"status":503,"path":"/login"}', service: 'auth', host: 'web-1', level: 'warning' },
    ];
    const res = await postLogs(server.url, records, { authorization: `Bearer ${token}` });
    assert.equal(res.status, 200);
  });
  after(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const lc = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const r = await run(logcli, args, { env: { ...env, ...extraEnv } });
    return r.stdout;
  };

  test('labels and label values', async () => {
    const labels = (await lc(['labels', '--since=1h'])).trim().split('\n');
    assert.deepEqual(labels, ['host', 'level', 'os', 'service', 'type']);
    assert.deepEqual((await lc(['labels', 'service', '--since=1h'])).trim().split('\n'), ['api', 'auth']);
  });

  test('series', async () => {
    const out = (await lc(['series', '{service="api"}', '--since=1h'])).trim().split('\n');
    assert.equal(out.length, 2);
    for (const line of out) assert.match(line, /service="api"/);
  });

  test('log queries with filters and parsers, as JSON lines', async () => {
    const out = await lc(['query', '--since=1h', '--limit=10', '-o', 'jsonl', '{service="api"} | logfmt | status >= 400']);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.line), ['method=GET path=/items status=500 duration=12ms']);
    const raw = await lc(['query', '--since=1h', '-o', 'raw', '{host="web-1"} |= "reset"']);
    assert.equal(raw.trim(), 'connection reset by peer');
    const forward = await lc(['query', '--since=1h', '--forward', '-o', 'raw', '{service=~"api|auth"}']);
    assert.equal(forward.trim().split('\n')[0], 'connection reset by peer');
  });

  test('metric queries: range and instant', async () => {
    const instant = JSON.parse(await lc(['instant-query', 'sum by (service) (count_over_time({service=~".+"}[1h]))']));
    const byService = Object.fromEntries(instant.map((s: { metric: { service: string }; value: [number, string] }) => [s.metric.service, s.value[1]]));
    assert.deepEqual(byService, { api: '3', auth: '1' });
    const range = JSON.parse(await lc(['query', '--since=10m', '--step=1m', 'sum(count_over_time({service="api"}[10m]))']));
    assert.ok(Array.isArray(range) && range.length === 1 && range[0].values.length > 0);
  });

  test('stats, and basic auth with the token as password', async () => {
    const stats = await lc(['stats', '--since=1h', '{service="api"}']);
    assert.match(stats, /entries: 3/);
    const labels = await lc(['labels', '--since=1h'], { LOKI_BEARER_TOKEN: '', LOKI_USERNAME: 'grafana', LOKI_PASSWORD: token });
    assert.match(labels, /service/);
  });

  test('live tail (--tail) shows new lines', async () => {
    const child = spawn(logcli, ['query', '--tail', '--delay-for=0', '-o', 'raw', '{service="tailme"}'], { env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      await postLogs(server.url, [{ message: 'fresh line for logcli', service: 'tailme' }], { authorization: `Bearer ${token}` });
      const deadline = Date.now() + 15_000;
      while (!out.includes('fresh line for logcli') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /fresh line for logcli/);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
