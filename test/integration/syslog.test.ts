/**
 * Real syslog senders against a real Cairn server: util-linux `logger` (UDP
 * and TCP, RFC 3164 and RFC 5424, newline and octet-counted framing) and an
 * rsyslogd started by this test with its own configuration, forwarding with
 * omfwd over TCP (RFC 5424 octet-counted, and traditional newline framing),
 * UDP, and TLS with a client certificate (gtls driver) that maps to a tenant.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TokenStore } from '../../src/auth/tokens.ts';
import { freePort, startTestServer, tempDir, type TestServer } from '../helpers/server.ts';
import { issue, makeCertificates } from '../helpers/certs.ts';
import { records, waitFor } from '../helpers/syslog.ts';

const HOST = hostname();
let s: TestServer;
let port: number;
let tlsPort: number;
let dir: string;
let read: Record<'plain' | 'secure', Record<string, string>>;

before(async () => {
  dir = tempDir('cairn-syslog-it-');
  const certs = makeCertificates(dir);
  issue(certs, 'client', '/CN=rsyslog-client', 'subjectAltName=DNS:rsyslog-client.example');
  port = await freePort();
  tlsPort = await freePort();
  s = await startTestServer({
    auth: { mode: 'token' },
    sources: {
      syslog: {
        udp: `127.0.0.1:${port}`,
        tcp: `127.0.0.1:${port}`,
        tls: `127.0.0.1:${tlsPort}`,
        tls_cert: certs.serverCert,
        tls_key: certs.serverKey,
        tls_ca: certs.caCert,
        client_cert_tenants: { 'rsyslog-client.example': 'secure' },
        tenant: 'plain',
        batch_linger_ms: 20,
      },
    },
  });
  const tokens = new TokenStore(s.dataDir);
  read = {
    plain: { authorization: `Bearer ${tokens.create({ tenant: 'plain', role: 'read' }).token}` },
    secure: { authorization: `Bearer ${tokens.create({ tenant: 'secure', role: 'read' }).token}` },
  };
  await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the token file at most once a second
});
after(async () => {
  await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

function logger(args: string[]): void {
  execFileSync('logger', ['-n', '127.0.0.1', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

describe('util-linux logger', () => {
  const cases = [
    { name: 'udp-3164', args: ['--udp', '--rfc3164'] },
    { name: 'udp-5424', args: ['--udp', '--rfc5424'] },
    { name: 'tcp-3164', args: ['--tcp', '--rfc3164'] },
    { name: 'tcp-5424', args: ['--tcp', '--rfc5424'] },
    { name: 'tcp-5424-octet', args: ['--tcp', '--rfc5424', '--octet-count'] },
  ];
  for (const c of cases) {
    test(`logger ${c.args.join(' ')}`, async () => {
      const marker = `logger-${c.name}`;
      const is5424 = c.name.includes('5424');
      const extra = is5424 ? ['--msgid', 'LOGIN', '--sd-id', 'zoo@32473', '--sd-param', 'tiger="hungry \\] animal"'] : [];
      logger([...c.args, '-P', String(port), '-t', 'cairn-it', '--id=4242', '-p', 'local5.err', ...extra, `${marker} something failed`]);
      const [r] = await records(s.url, `"${marker} something failed"`, 1, read.plain);
      assert.equal(r.message, `${marker} something failed`);
      assert.equal(r.host, HOST);
      assert.equal(r.unit, 'cairn-it');
      assert.equal(r.severity, 3);
      assert.equal(r.level, 'err');
      assert.equal(r.type, 'application');
      assert.equal(r.tenant, 'plain');
      assert.equal(r.attrs.facility, 'local5');
      assert.equal(r.attrs.procid, '4242');
      assert.equal(r.attrs.parse_error, undefined);
      assert.ok(Math.abs(Date.parse(r.ts) - Date.now()) < 60_000, `the header timestamp ${r.ts} is now`);
      if (is5424) {
        assert.equal(r.attrs.msgid, 'LOGIN');
        assert.deepEqual(r.attrs.sd['zoo@32473'], { tiger: 'hungry ] animal' });
        assert.ok(r.attrs.sd.timeQuality, 'logger adds timeQuality');
      }
    });
  }
});

describe('rsyslogd forwarding with omfwd', () => {
  let rsyslog: ChildProcess;
  let stderr = '';
  const inputs = { tcp5424: 0, tcp3164: 0, udp5424: 0, tls: 0 };

  before(async () => {
    const work = join(dir, 'rsyslog');
    mkdirSync(work, { recursive: true });
    for (const k of Object.keys(inputs) as (keyof typeof inputs)[]) inputs[k] = await freePort();
    const forward = (extra: string) => `action(type="omfwd" target="127.0.0.1" ${extra} action.resumeRetryCount="-1")`;
    const conf = [
      `global(workDirectory="${work}"`,
      `       defaultNetstreamDriverCAFile="${join(dir, 'ca.pem')}"`,
      `       defaultNetstreamDriverCertFile="${join(dir, 'client.pem')}"`,
      `       defaultNetstreamDriverKeyFile="${join(dir, 'client.key')}")`,
      'module(load="imudp")',
      `ruleset(name="tcp5424") { ${forward(`port="${port}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format"`)} }`,
      `ruleset(name="tcp3164") { ${forward(`port="${port}" protocol="tcp" template="RSYSLOG_ForwardFormat"`)} }`,
      `ruleset(name="udp5424") { ${forward(`port="${port}" protocol="udp" template="RSYSLOG_SyslogProtocol23Format"`)} }`,
      `ruleset(name="tls") { ${forward(`port="${tlsPort}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format" StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost"`)} }`,
      ...Object.entries(inputs).map(([ruleset, p]) => `input(type="imudp" address="127.0.0.1" port="${p}" ruleset="${ruleset}")`),
      '',
    ].join('\n');
    const confFile = join(work, 'rsyslog.conf');
    writeFileSync(confFile, conf);
    const check = execFileSync('rsyslogd', ['-N1', '-f', confFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.doesNotMatch(check, /error/i);
    rsyslog = spawn('rsyslogd', ['-n', '-f', confFile, '-i', join(work, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    rsyslog.stdout!.on('data', (d: Buffer) => (stderr += d.toString()));
    rsyslog.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // rsyslogd is ready once its UDP inputs are bound (a datagram sent earlier would be lost).
    const bound = () => readFileSync('/proc/net/udp', 'utf8');
    await waitFor('rsyslogd to bind its inputs', async () => {
      if (rsyslog.exitCode !== null) throw new Error(`rsyslogd exited with ${rsyslog.exitCode}: ${stderr}`);
      const table = bound();
      return Object.values(inputs).every((p) => table.includes(`:${p.toString(16).toUpperCase().padStart(4, '0')} `));
    });
  });
  after(async () => {
    if (rsyslog && rsyslog.exitCode === null) {
      rsyslog.kill('SIGTERM');
      await new Promise((r) => rsyslog.once('exit', r));
    }
  });

  /** Sends one RFC 3164 and one RFC 5424 message into rsyslog's input for `ruleset`. */
  function viaRsyslog(ruleset: keyof typeof inputs, marker: string): void {
    const p = String(inputs[ruleset]);
    logger(['--udp', '--rfc3164', '-P', p, '-t', 'rs-app', '--id=99', '-p', 'daemon.warning', `${marker} from 3164`]);
    logger(['--udp', '--rfc5424', '-P', p, '-t', 'rs-app', '--id=99', '-p', 'local2.info', '--msgid', 'M1', '--sd-id', 'meta@1', '--sd-param', 'k="v \\"q\\""', `${marker} from 5424`]);
  }

  function checkPair(got: any[], marker: string, tenant: string): void {
    const a = got.find((r) => r.message === `${marker} from 3164`);
    const b = got.find((r) => r.message === `${marker} from 5424`);
    assert.ok(a && b, `both messages arrived unchanged: ${JSON.stringify(got.map((r) => r.message))}`);
    for (const r of [a, b]) {
      assert.equal(r.host, HOST);
      assert.equal(r.unit, 'rs-app');
      assert.equal(r.attrs.procid, '99');
      assert.equal(r.tenant, tenant);
      assert.equal(r.attrs.parse_error, undefined);
    }
    assert.deepEqual([a.severity, a.attrs.facility, a.type], [4, 'daemon', 'system']);
    assert.deepEqual([b.severity, b.attrs.facility, b.type], [6, 'local2', 'application']);
  }

  test('TCP, octet counting, RFC 5424 (RSYSLOG_SyslogProtocol23Format): structured data passes through', async () => {
    viaRsyslog('tcp5424', 'rsyslog-tcp5424');
    const got = await records(s.url, 'rsyslog-tcp5424', 2, read.plain);
    checkPair(got, 'rsyslog-tcp5424', 'plain');
    const b = got.find((r) => r.message.endsWith('from 5424'));
    assert.equal(b.attrs.msgid, 'M1');
    assert.deepEqual(b.attrs.sd['meta@1'], { k: 'v "q"' });
  });

  test('TCP, newline framing, RSYSLOG_ForwardFormat (RFC 3164 header with RFC 3339 time)', async () => {
    viaRsyslog('tcp3164', 'rsyslog-tcp3164');
    checkPair(await records(s.url, 'rsyslog-tcp3164', 2, read.plain), 'rsyslog-tcp3164', 'plain');
  });

  test('UDP, RFC 5424', async () => {
    viaRsyslog('udp5424', 'rsyslog-udp5424');
    checkPair(await records(s.url, 'rsyslog-udp5424', 2, read.plain), 'rsyslog-udp5424', 'plain');
  });

  test('TLS (gtls, x509/name) with a client certificate: its SAN maps to tenant "secure"', async () => {
    viaRsyslog('tls', 'rsyslog-tls');
    checkPair(await records(s.url, 'rsyslog-tls', 2, read.secure), 'rsyslog-tls', 'secure');
    const leaked = await fetch(`${s.url}/api/v1/query?q=rsyslog-tls&from=now-1h`, { headers: read.plain }).then((r) => r.json() as Promise<any>);
    assert.equal(leaked.records.length, 0, 'nothing of it in the listener tenant');
  });
});
