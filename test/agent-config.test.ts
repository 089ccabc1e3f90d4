/**
 * The agent with only a server URL, a token and an access key: its inputs
 * come from the server-side config, a change applies without a restart
 * (inputs added, removed, changed), an invalid config is reported in the
 * agent's status on the server and the previous one keeps running; the
 * server shows the agent's version, last seen time and lag; the agent's
 * /metrics and /healthz answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent } from '../src/agent/agent.ts';
import { loadAgentConfig } from '../src/agent/config.ts';
import { silentLogger } from '../src/util/logger.ts';
import { freePort, startTestServer, tempDir } from './helpers/server.ts';
import { messages, waitFor } from './helpers/agent.ts';

test('server-side config applied live; status on the server; local metrics', { timeout: 120_000 }, async () => {
  const dir = tempDir('cairn-agent-config-');
  const grpcPort = await freePort();
  const server = await startTestServer({ auth: { mode: 'token' }, query: { max_limit: 100_000 }, sources: { grpc: { listen: `127.0.0.1:${grpcPort}` } } });
  const tokens = server.auth.tokens;
  const ingest = (await tokens.createJwt({ tenant: 'fleet', role: 'ingest', expiresMs: 3_600_000 })).token;
  const admin = tokens.create({ tenant: 'fleet', role: 'admin' }).token;
  const headers = { authorization: `Bearer ${admin}` };
  const setConfig = async (config: unknown) => {
    const res = await fetch(`${server.url}/api/v1/agents/configs/web`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(config) });
    assert.equal(res.status, 200, await res.text());
  };
  const fileA = join(dir, 'a.log');
  const fileB = join(dir, 'b.log');
  appendFileSync(fileA, 'alpha one\n');
  appendFileSync(fileB, 'beta one\n');
  await setConfig({ files: [{ paths: [fileA], poll_interval: '20ms', service: 'svc-a' }] });

  const metricsPort = await freePort();
  const config = loadAgentConfig({
    flags: {
      'server.url': { value: `grpc://127.0.0.1:${grpcPort}`, flag: '--server' },
      'server.token': { value: ingest, flag: '--token' },
      'server.access_key': { value: 'web', flag: '--access-key' },
      'agent.data_dir': { value: join(dir, 'agent'), flag: '--data' },
      'metrics.listen': { value: `127.0.0.1:${metricsPort}`, flag: '--metrics-listen' },
    },
  });
  const agent = await startAgent(config, silentLogger, '9.9.9-test');
  try {
    await waitFor('alpha from the server-side config', async () => (await messages(server.url, 'alpha', headers)).length === 1 || undefined);
    const [a] = (await (await fetch(`${server.url}/api/v1/query?q=alpha&from=2000-01-01T00:00:00Z`, { headers })).json() as any).records;
    assert.equal(a.service, 'svc-a');
    assert.equal(a.tenant, 'fleet', 'the tenant is the JWT\'s');

    // Change: A goes, B comes, without a restart.
    await setConfig({ files: [{ paths: [fileB], poll_interval: '20ms' }] });
    await waitFor('beta', async () => (await messages(server.url, 'beta', headers)).length === 1 || undefined);
    assert.deepEqual(agent.inputs(), [fileB]);
    assert.equal(agent.serverConfig().version, 2);
    appendFileSync(fileA, 'alpha two (A is not followed any more)\n');
    appendFileSync(fileB, 'beta two\n');
    await waitFor('beta two', async () => (await messages(server.url, 'beta', headers)).length === 2 || undefined);
    assert.equal((await messages(server.url, 'alpha', headers)).length, 1);

    // An invalid config: reported, the running inputs stay.
    await setConfig({ files: [{ paths: [] }], jounrald: {} });
    await waitFor('the config error', () => agent.serverConfig().error || undefined);
    assert.match(agent.serverConfig().error, /files\.0\.paths/);
    assert.match(agent.serverConfig().error, /jounrald: unknown key/);
    assert.deepEqual(agent.inputs(), [fileB]);
    // On Linux a windows input cannot run: the other inputs of the same config do.
    if (process.platform !== 'win32') {
      await setConfig({ files: [fileA], windows: { channels: ['System'] } });
      await waitFor('the windows refusal', () => /only on Windows/.test(agent.serverConfig().error) || undefined);
      assert.deepEqual(agent.inputs(), [fileA]);
    }

    // The server shows the agent: version, host, last seen, lag, config version and error.
    const status = await waitFor('the status with the error', async () => {
      const list = (await (await fetch(`${server.url}/api/v1/agents`, { headers })).json()) as any;
      const me = list.agents.find((x: any) => x.agent_id === agent.agentId);
      return me?.config_error ? me : undefined;
    });
    assert.equal(status.version, '9.9.9-test');
    assert.equal(status.hostname, config.agent.hostname);
    assert.equal(status.access_key, 'web');
    assert.equal(status.streams, 1);
    assert.ok(Date.now() - Date.parse(status.last_seen) < 30_000);
    assert.equal(typeof status.lag_ms, 'number');
    assert.ok(status.records_accepted >= 3);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /cairn_agent_records_sent_total \d+/);
    assert.match(metrics, /cairn_agent_config_errors_total [1-9]/);
    assert.match(metrics, /cairn_agent_buffer_bytes \d+/);
    assert.match(metrics, /cairn_agent_input_lag_seconds\{input=".*b\.log"\}|cairn_agent_input_lag_seconds\{input=".*a\.log"\}/);
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as any).connected, true);
  } finally {
    await agent.close();
    await server.stop();
  }
});
