/**
 * The agent's delivery guarantee, end to end with real processes: a `cairn
 * server` child process and a `cairn agent` child process following a file
 * that a writer appends to the whole time. The agent is killed with -9 while
 * shipping (the server drops what it resends by seq), the server is stopped
 * in the middle of the run, the agent is killed with -9 and restarted during
 * the outage, the server comes back: every line arrives, none twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TokenStore } from '../src/auth/tokens.ts';
import { freePort, startChildServer, tempDir, type ChildServer } from './helpers/server.ts';
import { messages, startChildAgent, waitFor, type ChildAgent } from './helpers/agent.ts';

test('server outage and agent kill -9 during it: every line arrives exactly once', { timeout: 240_000 }, async () => {
  const dir = tempDir('cairn-outage-');
  const serverData = join(dir, 'server');
  mkdirSync(serverData, { recursive: true });
  const tokens = new TokenStore(serverData);
  const ingest = (await tokens.createJwt({ tenant: 'fleet', role: 'ingest', expiresMs: 3_600_000 })).token;
  const read = tokens.create({ tenant: 'fleet', role: 'read' }).token;
  const grpcPort = await freePort();
  const serverEnv = { CAIRN_AUTH__MODE: 'token', CAIRN_QUERY__MAX_LIMIT: '200000' };
  const startServer = () => startChildServer(serverData, ['--grpc-listen', `127.0.0.1:${grpcPort}`], serverEnv);
  let server: ChildServer = await startServer();
  const auth = { authorization: `Bearer ${read}` };

  const logFile = join(dir, 'app.log');
  let written = 0;
  const writer = setInterval(() => {
    const lines: string[] = [];
    for (let i = 0; i < 15; i++) lines.push(`outage-line ${written++} ${'p'.repeat(40)}`);
    appendFileSync(logFile, lines.join('\n') + '\n');
  }, 10);

  const agentConfig = {
    server: { url: `grpc://127.0.0.1:${grpcPort}`, token: ingest, reconnect_min: '100ms', reconnect_max: '500ms' },
    agent: { data_dir: join(dir, 'agent'), hostname: 'outage-host' },
    buffer: { fsync_interval: '20ms' },
    ship: { batch_records: 300 },
    inputs: { files: [{ paths: [logFile], poll_interval: '20ms' }] },
  };
  let agent: ChildAgent = startChildAgent(dir, agentConfig);
  const stored = async () => (await messages(server.url, 'outage-line', auth)).length;
  try {
    await waitFor('the first lines stored', async () => (await stored()) >= 1000);
    // kill -9 while shipping: acknowledged records whose ack point was not saved yet are resent.
    await agent.kill();
    agent = startChildAgent(dir, agentConfig);
    const before = await stored();
    await waitFor('shipping again after the restart', async () => (await stored()) >= before + 1000);

    // The server goes away in the middle of the run; lines keep coming.
    await server.stop();
    await new Promise((r) => setTimeout(r, 1500));
    // The agent dies during the outage (kill -9) and starts again, still without a server.
    await agent.kill();
    agent = startChildAgent(dir, agentConfig);
    await new Promise((r) => setTimeout(r, 1500));
    server = await startServer();
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    clearInterval(writer);
  }
  const total = written;
  try {
    const all = await waitFor('every line', async () => {
      const got = await messages(server.url, 'outage-line', auth);
      return got.length >= total ? got : undefined;
    }, 90_000, 500);
    const counts = new Map<string, number>();
    for (const m of all) counts.set(m, (counts.get(m) ?? 0) + 1);
    const missing = [];
    for (let i = 0; i < total; i++) if (!counts.has(`outage-line ${i} ${'p'.repeat(40)}`)) missing.push(i);
    const twice = [...counts].filter(([, n]) => n > 1).map(([m]) => m.split(' ')[1]);
    assert.deepEqual(missing, [], `lines missing of ${total}`);
    assert.deepEqual(twice, [], 'lines stored twice');
    assert.equal(all.length, total);
  } finally {
    await agent.stop();
    await server.stop();
  }
});
