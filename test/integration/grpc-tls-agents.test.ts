/**
 * `cairn server --grpc-listen` as an operator runs it: a TLS gRPC listener
 * (certificate made with openssl), OTLP/gRPC and the agent stream over it, and
 * the `cairn agents` commands against the running server and its data directory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ROOT, freePort, startChildServer, tempDir, type ChildServer } from '../helpers/server.ts';
import { AgentStream, grpcClient, metadata, unary } from '../helpers/grpc.ts';
import { messages, startChildAgent, waitFor } from '../helpers/agent.ts';

let dir: string;
let server: ChildServer;
let address: string;
let tls: grpc.ChannelCredentials;
/** The certificate names localhost; the channel dials 127.0.0.1. */
const TLS_NAME = { 'grpc.ssl_target_name_override': 'localhost' };

function cairn(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'cairn.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

before(async () => {
  dir = tempDir('cairn-grpc-tls-');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  writeFileSync(join(dir, 'cairn.yaml'), `sources:\n  grpc:\n    tls:\n      cert: ${join(dir, 'cert.pem')}\n      key: ${join(dir, 'key.pem')}\n`);
  address = `127.0.0.1:${await freePort()}`;
  server = await startChildServer(join(dir, 'data'), ['--config', join(dir, 'cairn.yaml'), '--grpc-listen', address]);
  tls = grpc.credentials.createSsl(readFileSync(join(dir, 'cert.pem')));
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('OTLP/gRPC over TLS; a plaintext client is refused', async () => {
  const secure = grpcClient('opentelemetry.proto.collector.logs.v1.LogsService', address, TLS_NAME, tls);
  const req = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'over tls' } }] }] }] };
  assert.deepEqual(await unary(secure, 'Export', req), { partialSuccess: null });
  secure.close();
  const plain = grpcClient('opentelemetry.proto.collector.logs.v1.LogsService', address, {});
  await assert.rejects(unary(plain, 'Export', req), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
  plain.close();
  const res = await fetch(`${server.url}/api/v1/query?q=${encodeURIComponent('"over tls"')}`);
  assert.equal(((await res.json()) as any).records.length, 1);
});

test('cairn agents config set/get/list while the server runs; agents fetch it over TLS and show up in cairn agents list', async () => {
  const data = join(dir, 'data');
  writeFileSync(join(dir, 'web.yaml'), 'files:\n  - /var/log/nginx/access.log\nbatch_records: 500\n');
  let r = cairn(['agents', 'config', 'set', 'web', join(dir, 'web.yaml'), '--data', data]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /config "web" of tenant "default" is now version 1/);
  r = cairn(['agents', 'config', 'get', 'web', '--data', data]);
  assert.deepEqual(JSON.parse(r.out), { files: ['/var/log/nginx/access.log'], batch_records: 500 });
  r = cairn(['agents', 'config', 'list', '--data', data]);
  assert.match(r.out, /^web {2}version=1 {2}etag=[0-9a-f]{32}/);

  const client = grpcClient('cairn.agent.v1.AgentIngest', address, TLS_NAME, tls);
  const md = metadata({ 'x-cairn-agent-id': 'cli-agent', 'x-cairn-hostname': 'box-9', 'x-cairn-agent-version': '1.2.3' });
  const deadline = Date.now() + 5000;
  let cfg: any;
  do {
    cfg = await unary<any>(client, 'AgentConfig', { accessKey: 'web' }, md);
    if (cfg.found) break;
    await new Promise((res) => setTimeout(res, 100));
  } while (Date.now() < deadline);
  assert.deepEqual(JSON.parse(cfg.configJson), { files: ['/var/log/nginx/access.log'], batch_records: 500 });

  const stream = new AgentStream(client, md);
  stream.send(1, [{ message: 'from the cli agent', host: 'box-9' }], { lagMs: '40' });
  assert.equal((await stream.ack(1)).status, 'ACK_STATUS_STORED');
  r = cairn(['agents', 'list', '--url', server.url]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^cli-agent {2}host=box-9 {2}version=1\.2\.3 {2}streams=1 .* records=1 {2}lag=40ms$/m);
  stream.close();
  client.close();

  r = cairn(['agents', 'config', 'delete', 'web', '--data', data]);
  assert.equal(r.code, 0);
  r = cairn(['agents', 'config', 'get', 'web', '--data', data]);
  assert.equal(r.code, 1);
  assert.equal(cairn(['agents', 'bogus']).code, 2);
  assert.match(cairn(['--help']).out, /\bagents\b/);
  assert.match(cairn(['agents', '--help']).out, /usage:\s+cairn agents list/);
  assert.match(cairn(['server', '--help']).out, /--grpc-listen/);
});

test('cairn agent ships over TLS, trusting the server through server.ca; without the CA it does not connect', { timeout: 60_000 }, async () => {
  const logFile = join(dir, 'tls-agent.log');
  writeFileSync(logFile, 'agent over tls one\nagent over tls two\n');
  const metricsPort = await freePort();
  const config = (withCa: boolean, sub: string) => ({
    server: { url: `grpcs://${address}`, access_key: 'tls-agent', server_name: 'localhost', ...(withCa ? { ca: join(dir, 'cert.pem') } : {}), reconnect_max: '1s' },
    agent: { data_dir: join(dir, sub) },
    metrics: { listen: `127.0.0.1:${withCa ? metricsPort : metricsPort + 1}` },
    inputs: { files: [logFile] },
  });
  const untrusted = startChildAgent(tempDir('cairn-tls-agent-'), config(false, 'agent-untrusted'));
  const trusted = startChildAgent(tempDir('cairn-tls-agent-'), config(true, 'agent-trusted'));
  try {
    await waitFor('both records over TLS', async () => (await messages(server.url, '"agent over tls"', {}, 1000)).length === 2 || undefined);
    const health = (await (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).json()) as any;
    assert.equal(health.connected, true);
    const refused = (await (await fetch(`http://127.0.0.1:${metricsPort + 1}/healthz`)).json()) as any;
    assert.equal(refused.connected, false, 'a certificate it cannot verify is refused');
    assert.match(untrusted.stderr(), /agent stream lost/);
  } finally {
    await trusted.stop();
    await untrusted.stop();
  }
});
