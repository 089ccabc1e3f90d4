/**
 * The forward source with a real client from npm (fluent-logger, the Node
 * logger Fluentd maintains: Message/PackedForward/CompressedPackedForward,
 * require_ack_response, shared-key handshake, TLS), TLS client certificates
 * (made with openssl), and the UDP heartbeat.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import fluentLogger from 'fluent-logger';
import { TokenStore } from '../src/auth/tokens.ts';
import { freePort, query, startTestServer, tempDir, type TestServer } from './helpers/server.ts';
import { ForwardClient, messageMode } from './helpers/forward.ts';

const FROM = { from: '2015-01-01T00:00:00Z', order: 'asc', limit: '1000' };
const quietLogger = { info: () => undefined, error: () => undefined };

type Sender = InstanceType<typeof fluentLogger.FluentSender<Record<string, unknown>>>;

/** fluent-logger's EventTime (its type declarations describe an instance, not the class). */
const EventTime = (fluentLogger as unknown as { EventTime: { fromDate(d: Date): unknown } }).EventTime;

function emit(sender: Sender, label: string, data: Record<string, unknown>, time?: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => (err ? reject(err) : resolve());
    if (time) sender.emit(label, data, time as Date, done);
    else sender.emit(label, data, done);
  });
}

function end(sender: Sender): Promise<void> {
  return new Promise((resolve) => sender.end(undefined as unknown as string, undefined as unknown as Record<string, unknown>, () => resolve()));
}

describe('fluent-logger (npm) against the forward source', () => {
  let s: TestServer;
  let port: number;
  before(async () => {
    port = await freePort();
    s = await startTestServer({ sources: { forward: { listen: `127.0.0.1:${port}` } } });
  });
  after(() => s.stop());

  for (const eventMode of ['Message', 'PackedForward', 'CompressedPackedForward']) {
    test(`${eventMode} with requireAckResponse: every callback fires after the ack; the records are stored`, async () => {
      const sender = fluentLogger.createFluentSender('npm', {
        host: '127.0.0.1',
        port,
        eventMode,
        requireAckResponse: true,
        ackResponseTimeout: 10_000,
        flushInterval: 20,
        internalLogger: quietLogger,
      }) as Sender;
      const at = new Date('2024-05-01T10:00:00.250Z');
      // Half with EventTime (ns), half with a Date (fluent-logger sends whole seconds).
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          emit(sender, eventMode.toLowerCase(), { message: `${eventMode}-line-${i}`, level: 'warning', n: i }, i % 2 === 0 ? EventTime.fromDate(at) : at),
        ),
      );
      await end(sender);
      const { body } = await query(s.url, { q: `"${eventMode}-line"`, ...FROM });
      assert.equal(body.records.length, 20);
      const even = body.records.find((r: any) => r.attrs.n === 0);
      const odd = body.records.find((r: any) => r.attrs.n === 1);
      assert.deepEqual([even.unit, even.level, even.ts, even.tenant], [`npm.${eventMode.toLowerCase()}`, 'warning', '2024-05-01T10:00:00.250000000Z', 'default']);
      assert.equal(odd.ts, '2024-05-01T10:00:00.000000000Z');
    });
  }
});

describe('TLS: client certificates and shared keys decide the tenant', () => {
  let s: TestServer;
  let port: number;
  let dir: string;
  const pem = (name: string) => readFileSync(join(dir, name));
  let readAcme: string;
  let readGlobex: string;

  before(async () => {
    dir = tempDir('cairn-tls-');
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const key = (name: string) => ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', name);
    key('ca.key');
    ssl('req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=cairn-test-ca', '-days', '2');
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    for (const [name, cn, signer] of [['server', 'localhost', 'ca'], ['web1', 'web-1', 'ca'], ['rogue', 'web-1', 'self']] as const) {
      key(`${name}.key`);
      if (signer === 'self') {
        ssl('req', '-x509', '-new', '-key', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${cn}`, '-days', '2');
        continue;
      }
      ssl('req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
      const ext = name === 'server' ? ['-extfile', 'server.ext'] : [];
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...ext);
    }
    port = await freePort();
    s = await startTestServer({
      auth: { mode: 'token' },
      sources: {
        forward: {
          tls_listen: `127.0.0.1:${port}`,
          tls_cert: join(dir, 'server.crt'),
          tls_key: join(dir, 'server.key'),
          tls_ca: join(dir, 'ca.crt'),
          client_cert_tenants: [{ cn: 'web-1', tenant: 'acme' }],
          shared_keys: [{ key: 'globex-key', tenant: 'globex' }],
        },
      },
    });
    const store = new TokenStore(s.dataDir);
    readAcme = store.create({ tenant: 'acme', role: 'read' }).token;
    readGlobex = store.create({ tenant: 'globex', role: 'read' }).token;
    await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the token file at most once a second
  });
  after(() => s.stop());

  const tlsOptions = (client?: string) => ({
    ca: pem('ca.crt'),
    servername: 'localhost',
    ...(client ? { cert: pem(`${client}.crt`), key: pem(`${client}.key`) } : {}),
  });

  test('a verified client certificate maps to its tenant without a handshake (fluent-logger over TLS)', async () => {
    const sender = fluentLogger.createFluentSender('tls', {
      host: '127.0.0.1',
      port,
      tls: true,
      tlsOptions: tlsOptions('web1'),
      requireAckResponse: true,
      internalLogger: quietLogger,
    }) as Sender;
    await emit(sender, 'cert', { message: 'over tls with a client certificate' });
    await end(sender);
    const { body } = await query(s.url, { q: '"client certificate"', ...FROM }, { authorization: `Bearer ${readAcme}` });
    assert.deepEqual(body.records.map((r: any) => r.tenant), ['acme']);
  });

  test('without a mapped certificate the shared-key handshake runs over TLS (fluent-logger security)', async () => {
    const sender = fluentLogger.createFluentSender('tls', {
      host: '127.0.0.1',
      port,
      tls: true,
      tlsOptions: tlsOptions(),
      requireAckResponse: true,
      security: { clientHostname: 'shipper-1', sharedKey: 'globex-key' },
      internalLogger: quietLogger,
    }) as Sender;
    await emit(sender, 'key', { message: 'over tls with a shared key' });
    await end(sender);
    const globex = await query(s.url, { q: '"shared key"', ...FROM }, { authorization: `Bearer ${readGlobex}` });
    assert.deepEqual(globex.body.records.map((r: any) => r.tenant), ['globex']);
    const acme = await query(s.url, { q: '"shared key"', ...FROM }, { authorization: `Bearer ${readAcme}` });
    assert.equal(acme.body.records.length, 0);
  });

  test('a certificate the CA did not sign gets no tenant: the handshake is required and a bad key is refused', async () => {
    const c = await ForwardClient.connect(port, tlsOptions('rogue'));
    const { pong } = await c.handshake('wrong-key');
    assert.deepEqual(pong.slice(0, 2), ['PONG', false]);
    await c.closed;
  });

  test('a plain TCP client on the TLS port fails the TLS handshake, counted', async () => {
    const c = await ForwardClient.connect(port);
    c.write(messageMode('plain', 1, { message: 'not tls' }));
    await c.closed;
    const text = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(text, /log_errors_total\{source="forward",tenant="-",reason="tls_error"\} [1-9]/);
  });
});

test('UDP heartbeat: a 0x00 datagram is answered with 0x00 on the listener port', async () => {
  const port = await freePort();
  const s = await startTestServer({ sources: { forward: { listen: `127.0.0.1:${port}`, udp_heartbeat: true } } });
  const udp = createSocket('udp4');
  try {
    const answer = new Promise<Buffer>((resolve) => udp.once('message', (msg) => resolve(msg)));
    udp.send(Buffer.from([0]), port, '127.0.0.1');
    assert.deepEqual(await answer, Buffer.from([0]));
  } finally {
    udp.close();
    await s.stop();
  }
});
