/** The syslog source end to end over real UDP, TCP and TLS sockets: mapping, tenants, limits, backpressure, shutdown. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { TokenStore } from '../src/auth/tokens.ts';
import { freePort, startChildServer, startTestServer, tempDir, type TestServer } from './helpers/server.ts';
import { issue, makeCertificates, type CertFiles } from './helpers/certs.ts';
import { metric, octetCounted, records, sendTcp, sendUdp, tcpConnect, tlsOpen, waitFor } from './helpers/syslog.ts';

describe('syslog over UDP and TCP (open local mode)', () => {
  let s: TestServer;
  let port: number;
  before(async () => {
    port = await freePort();
    s = await startTestServer({
      sources: { syslog: { udp: `127.0.0.1:${port}`, tcp: `127.0.0.1:${port}`, max_message_bytes: 400, batch_linger_ms: 20 } },
    });
  });
  after(() => s.stop());

  test('RFC 5424 over TCP with octet counting: header, structured data, facility and severity', async () => {
    await sendTcp(
      port,
      octetCounted([
        '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 77 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high" note="a \\"quoted\\" \\] bracket"] \uFEFFoctet-5424 An application event',
        '<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - - - octet-5424 second message\nwith a newline inside',
      ]),
    );
    const got = await records(s.url, 'octet-5424', 2);
    const first = got.find((r) => r.unit === 'evntslog');
    const second = got.find((r) => r.unit === 'su');
    assert.equal(first.ts, '2003-10-11T22:14:15.003000000Z');
    assert.equal(first.host, 'mymachine.example.com');
    assert.equal(first.unit, 'evntslog');
    assert.equal(first.severity, 5, 'PRI 165 = local4.notice');
    assert.equal(first.type, 'application', 'local4 → application');
    assert.equal(first.os, 'linux');
    assert.equal(first.tenant, 'default');
    assert.equal(first.message, 'octet-5424 An application event');
    assert.deepEqual(first.attrs, {
      facility: 'local4',
      procid: '77',
      msgid: 'ID47',
      sd: {
        'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
        'examplePriority@32473': { class: 'high', note: 'a "quoted" ] bracket' },
      },
    });
    assert.equal(second.severity, 2, 'PRI 34 = auth.crit');
    assert.equal(second.type, 'system');
    assert.equal(second.attrs.facility, 'auth');
    assert.equal(second.message, 'octet-5424 second message\nwith a newline inside');
  });

  test('RFC 3164 over TCP with newline framing, and over UDP', async () => {
    await sendTcp(port, '<38>Mar  9 17:32:18 web-1 sshd[1234]: newline-3164 Accepted password for bob\r\n<13>Mar  9 17:32:19 CRON[9]: newline-3164 no hostname\n');
    await sendUdp(port, ['<131>Mar  9 17:32:20 db-1 postgres[5]: udp-3164 connection refused', '<14>1 2024-03-09T17:32:21.5+01:00 app-1 api - - - udp-5424 hello\n']);
    const tcp = await records(s.url, 'newline-3164', 2);
    const sshd = tcp.find((r) => r.unit === 'sshd');
    assert.equal(sshd.host, 'web-1');
    assert.equal(sshd.severity, 6);
    assert.equal(sshd.attrs.facility, 'auth');
    assert.equal(sshd.attrs.procid, '1234');
    assert.equal(sshd.message, 'newline-3164 Accepted password for bob');
    const cron = tcp.find((r) => r.unit === 'CRON');
    assert.equal(cron.host, '127.0.0.1', 'no HOSTNAME: the sender address');
    const [pg] = await records(s.url, 'udp-3164', 1);
    assert.deepEqual([pg.host, pg.unit, pg.severity, pg.attrs.facility], ['db-1', 'postgres', 3, 'local0']);
    const [api] = await records(s.url, 'udp-5424', 1);
    assert.equal(api.ts, '2024-03-09T16:32:21.500000000Z');
    assert.equal(api.message, 'udp-5424 hello');
  });

  test('unparseable lines are kept whole with parse_error and counted', async () => {
    const before = await metric(s.url, 'log_unparsed_total', { source: 'syslog' });
    await sendTcp(port, 'garbage-line without any PRI\n<13>1 2024-03-09T17:32:21Z host app - - [broken sd garbage-line-2\n');
    const got = await records(s.url, 'garbage-line OR garbage-line-2', 2);
    const noPri = got.find((r) => r.message === 'garbage-line without any PRI');
    assert.ok(noPri, JSON.stringify(got));
    assert.match(noPri.attrs.parse_error, /PRI/);
    assert.equal(noPri.severity, 5, 'no PRI → user.notice');
    const badSd = got.find((r) => r.message.includes('garbage-line-2'));
    assert.equal(badSd.host, 'host');
    assert.match(badSd.attrs.parse_error, /STRUCTURED-DATA/);
    assert.equal((await metric(s.url, 'log_unparsed_total', { source: 'syslog' })) - before, 2);
  });

  test('oversized messages are dropped and counted; the connection goes on', async () => {
    const before = await metric(s.url, 'log_errors_total', { source: 'syslog', reason: 'line_too_long' });
    const big = 'x'.repeat(500);
    await sendTcp(port, `<13>big-a before\n<13>${big}\n<13>big-a after\n`);
    await sendTcp(port, octetCounted(['<13>big-b before', `<13>${big}`, '<13>big-b after']));
    await sendUdp(port, [`<13>${big}`, '<13>big-c after']);
    assert.equal((await records(s.url, 'big-a', 2)).length, 2);
    assert.equal((await records(s.url, 'big-b', 2)).length, 2);
    await records(s.url, 'big-c', 1);
    assert.equal((await metric(s.url, 'log_errors_total', { source: 'syslog', reason: 'line_too_long' })) - before, 3);
  });

  test('metrics: bytes received, stored records, open connections', async () => {
    const bytesBefore = await metric(s.url, 'log_received_bytes_total', { source: 'syslog' });
    const sock = await tcpConnect(port);
    await waitFor('the connection gauge', async () => (await metric(s.url, 'source_connections', { source: 'syslog' })) === 1);
    const line = '<13>metrics-line one\n';
    sock.end(line);
    await records(s.url, 'metrics-line', 1);
    await waitFor('the gauge to drop', async () => (await metric(s.url, 'source_connections', { source: 'syslog' })) === 0);
    assert.equal((await metric(s.url, 'log_received_bytes_total', { source: 'syslog' })) - bytesBefore, line.length);
    assert.ok((await metric(s.url, 'log_processed_total', { source: 'syslog', tenant: 'default' })) > 10);
  });
});

describe('syslog limits and backpressure', () => {
  test('oversize_action truncate keeps the first max_message_bytes, marked truncated', async () => {
    const port = await freePort();
    const s = await startTestServer({ ingest: { oversize_action: 'truncate' }, sources: { syslog: { tcp: `127.0.0.1:${port}`, max_message_bytes: 64, batch_linger_ms: 10 } } });
    try {
      await sendTcp(port, `<13>trunc-me ${'y'.repeat(200)}\n`);
      const [r] = await records(s.url, 'trunc-me', 1);
      assert.equal(Buffer.byteLength(`<13>${r.message}`), 64);
      assert.equal(r.attrs.truncated, true);
      assert.equal(await metric(s.url, 'log_errors_total', { reason: 'truncated' }), 1);
    } finally {
      await s.stop();
    }
  });

  test('TCP: a rate-limited tenant is retried, not dropped, and the sender is slowed by TCP flow control', async () => {
    const port = await freePort();
    const s = await startTestServer({
      ingest: { tenant_rate_limit: 2000, tenant_burst: 2000 },
      sources: { syslog: { tcp: `127.0.0.1:${port}`, batch_records: 1000, batch_linger_ms: 10 } },
    });
    try {
      // 6000 lines at 2000/s: refused batches wait on the connection and all arrive.
      const lines = Array.from({ length: 6000 }, (_, i) => `<13>rate-ok line ${i}\n`).join('');
      await sendTcp(port, lines);
      await waitFor('6000 records', async () => (await metric(s.url, 'log_processed_total', { source: 'syslog' })) === 6000, 30_000);
      assert.ok((await metric(s.url, 'log_errors_total', { reason: 'rate_limited' })) > 0, 'refusals are counted');

      // A sender far faster than the limit: the server stops reading, the sender's buffers fill.
      const sock = await tcpConnect(port);
      const line = `<13>flood ${'z'.repeat(200)}\n`;
      const chunk = Buffer.from(line.repeat(5000));
      let written = 0;
      while (sock.write(chunk)) written += chunk.length;
      written += chunk.length;
      await new Promise((r) => setTimeout(r, 2000));
      const received = await metric(s.url, 'log_received_bytes_total', { source: 'syslog' });
      assert.ok(sock.writableLength > 0, 'the sender holds data the server did not take');
      assert.ok(received - lines.length < written, 'the server read only part of it');
      sock.destroy();
    } finally {
      await s.stop();
    }
  });

  test('TCP: many connections share the in-flight budget: they wait for room instead of meeting a full queue', async () => {
    const port = await freePort();
    const s = await startTestServer({
      // Budget 500 records (a quarter of the queue); 6 connections pass it by at most two batches each (one full, one lingering): 980 < 2000.
      queue: { max_records: 2000 },
      sources: { syslog: { tcp: `127.0.0.1:${port}`, batch_records: 40, batch_linger_ms: 5, idle_timeout: '1s' } },
    });
    try {
      const senders = Array.from({ length: 6 }, (_, c) => sendTcp(port, Array.from({ length: 20_000 }, (_, i) => `<13>budget c${c} line ${i}\n`).join('')));
      await Promise.all(senders);
      await waitFor('120000 records', async () => (await metric(s.url, 'log_processed_total', { source: 'syslog' })) === 120_000, 60_000);
      assert.equal(await metric(s.url, 'log_errors_total', { reason: 'queue_full' }), 0, 'the queue never had to refuse');
    } finally {
      await s.stop();
    }
  });

  test('UDP: batches the full queue refuses are dropped and counted; the listener goes on', async () => {
    const port = await freePort();
    const s = await startTestServer({
      queue: { max_records: 20 },
      sources: { syslog: { udp: `127.0.0.1:${port}`, batch_records: 10, batch_linger_ms: 5 } },
    });
    try {
      const n = 5000;
      await sendUdp(port, Array.from({ length: n }, (_, i) => `<13>udp-flood ${i}`));
      await new Promise((r) => setTimeout(r, 1000));
      const stored = await metric(s.url, 'log_processed_total', { source: 'syslog' });
      const dropped = await metric(s.url, 'log_errors_total', { source: 'syslog', reason: 'queue_full' });
      assert.ok(dropped > 0, 'some batches met a full queue');
      assert.ok(stored > 0 && stored + dropped <= n, `${stored} stored + ${dropped} dropped of ${n}`);
      await sendUdp(port, ['<13>udp-after-flood']);
      await records(s.url, 'udp-after-flood', 1);
    } finally {
      await s.stop();
    }
  });

  test('max_connections: a connection over the limit is closed and counted, the others work', async () => {
    const port = await freePort();
    const s = await startTestServer({ sources: { syslog: { tcp: `127.0.0.1:${port}`, max_connections: 2, batch_linger_ms: 10 } } });
    try {
      const a = await tcpConnect(port);
      const b = await tcpConnect(port);
      await waitFor('two connections', async () => (await metric(s.url, 'source_connections', { source: 'syslog' })) === 2);
      const c = await tcpConnect(port);
      await new Promise((r) => c.once('close', r));
      assert.equal(await metric(s.url, 'log_errors_total', { reason: 'too_many_connections' }), 1);
      a.end('<13>maxconn a\n');
      b.end('<13>maxconn b\n');
      assert.equal((await records(s.url, 'maxconn', 2)).length, 2);
    } finally {
      await s.stop();
    }
  });

  test('shutdown stores what a still-open connection already sent', async () => {
    const port = await freePort();
    const dir = tempDir();
    const config = { sources: { syslog: { tcp: `127.0.0.1:${port}`, batch_linger_ms: 60_000 } } };
    const s = await startTestServer(config, dir);
    const sock = await tcpConnect(port);
    sock.on('error', () => undefined);
    sock.write('<13>at-shutdown one\n<13>at-shutdown two\n');
    await waitFor('the bytes to arrive', async () => (await metric(s.url, 'log_received_bytes_total', { source: 'syslog' })) > 0);
    await s.close();
    const again = await startTestServer({}, dir);
    try {
      assert.equal((await records(again.url, 'at-shutdown', 2)).length, 2);
    } finally {
      await again.stop();
    }
  });
});

describe('syslog tenants', () => {
  test('token mode: a plain listener without sources.syslog.tenant refuses to start, naming the key, and releases the store', async () => {
    const dir = tempDir();
    try {
      const port = await freePort();
      await assert.rejects(startTestServer({ auth: { mode: 'token' }, sources: { syslog: { tcp: `127.0.0.1:${port}` } } }, dir), /sources\.syslog\.tenant: the syslog tcp listener/);
      await assert.rejects(startTestServer({ sources: { syslog: { udp: `0.0.0.0:${port}` } } }, dir), /sources\.syslog\.tenant: the syslog udp listener on 0\.0\.0\.0/, 'non-loopback needs a tenant even in open mode');
      const s = await startTestServer({ auth: { mode: 'token' }, sources: { syslog: { tcp: `127.0.0.1:${port}`, tenant: 'acme', batch_linger_ms: 10 } } }, dir);
      try {
        await sendTcp(port, '<13>1 2024-01-01T00:00:00Z h app - - [cairn tenant="globex"] tenant-line\n');
        const read = new TokenStore(s.dataDir).create({ tenant: 'acme', role: 'read' }).token;
        await new Promise((r) => setTimeout(r, 1100)); // the server re-reads the token file at most once a second
        const [r] = await records(s.url, 'tenant-line', 1, { authorization: `Bearer ${read}` });
        assert.equal(r.tenant, 'acme', 'the configured tenant, not the one in the message');
      } finally {
        await s.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a port in use is a start-up error naming the key', async () => {
    const port = await freePort();
    const first = await startTestServer({ sources: { syslog: { tcp: `127.0.0.1:${port}` } } });
    try {
      await assert.rejects(startTestServer({ sources: { syslog: { tcp: `127.0.0.1:${port}` } } }), /sources\.syslog\.tcp: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    } finally {
      await first.stop();
    }
  });

  test('--syslog-tcp and --syslog-udp flags of cairn server', async () => {
    const dir = tempDir();
    const port = await freePort();
    const child = await startChildServer(dir, ['--syslog-tcp', `127.0.0.1:${port}`, '--syslog-udp', `127.0.0.1:${port}`]);
    try {
      await sendTcp(port, '<13>flag-tcp hello\n');
      await sendUdp(port, ['<13>flag-udp hello']);
      assert.equal((await records(child.url, 'flag-tcp OR flag-udp', 2)).length, 2);
    } finally {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('syslog on IPv6', () => {
  test('UDP and TCP listeners on [::1]; the sender address is the host of messages without one', async () => {
    const port = await freePort();
    const s = await startTestServer({ sources: { syslog: { udp: `[::1]:${port}`, tcp: `[::1]:${port}`, batch_linger_ms: 10 } } });
    try {
      const udp = createSocket('udp6');
      await new Promise<void>((r, j) => udp.send('<13>ipv6-udp hello', port, '::1', (err) => (err ? j(err) : r())));
      udp.close();
      await new Promise<void>((r) => {
        const c = connect(port, '::1', () => c.end('<13>ipv6-tcp hello\n'));
        c.resume();
        c.once('close', () => r());
      });
      const got = await records(s.url, 'ipv6-udp OR ipv6-tcp', 2);
      assert.ok(got.every((r) => r.host === '::1'), JSON.stringify(got.map((r) => r.host)));
    } finally {
      await s.stop();
    }
  });
});

describe('syslog over TLS (RFC 5425)', () => {
  let certs: CertFiles;
  let dir: string;
  before(() => {
    dir = tempDir('cairn-certs-');
    certs = makeCertificates(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('server certificate only: octet counting and newline framing, listener tenant', async () => {
    const port = await freePort();
    const s = await startTestServer({ sources: { syslog: { tls: `127.0.0.1:${port}`, tls_cert: certs.serverCert, tls_key: certs.serverKey, batch_linger_ms: 10 } } });
    try {
      for (const data of [octetCounted(['<86>1 2024-03-09T10:00:00Z tls-host sshd 1 - - tls-octet hello']), '<86>Mar  9 10:00:00 tls-host sshd: tls-newline hello\n']) {
        const sock = await tlsOpen(port, { ca: readFileSync(certs.caCert) });
        await new Promise<void>((r) => sock.end(data, () => r()));
      }
      const got = await records(s.url, 'tls-octet OR tls-newline', 2);
      assert.ok(got.every((r) => r.host === 'tls-host' && r.unit === 'sshd' && r.tenant === 'default' && r.attrs.facility === 'authpriv'));
    } finally {
      await s.stop();
    }
  });

  test('client certificates: SAN or CN → tenant; unmapped, missing and foreign certificates are refused', async () => {
    const ca = readFileSync(certs.caCert);
    const web = issue(certs, 'web', '/CN=some-other-name', 'subjectAltName=DNS:web-1.example.com');
    const db = issue(certs, 'db', '/CN=db-1');
    const stranger = issue(certs, 'stranger', '/CN=stranger');
    const otherDir = tempDir('cairn-certs-');
    const foreignCa = makeCertificates(otherDir);
    const foreign = issue(foreignCa, 'foreign', '/CN=db-1');
    const port = await freePort();
    const s = await startTestServer({
      auth: { mode: 'token' },
      sources: {
        syslog: {
          tls: `127.0.0.1:${port}`,
          tls_cert: certs.serverCert,
          tls_key: certs.serverKey,
          tls_ca: certs.caCert,
          client_cert_tenants: { 'web-1.example.com': 'acme', 'db-1': 'globex' },
          batch_linger_ms: 10,
        },
      },
    });
    try {
      const send = async (client: { cert: string; key: string }, line: string) => {
        const sock = await tlsOpen(port, { ca, cert: readFileSync(client.cert), key: readFileSync(client.key) });
        await new Promise<void>((r) => {
          sock.once('close', () => r());
          sock.on('error', () => undefined);
          sock.end(line);
        });
      };
      await send(web, '<13>1 2024-03-09T10:00:00Z h app - - [cairn tenant="globex"] cert-line web\n');
      await send(db, '<13>cert-line db\n');
      const tokens = new TokenStore(s.dataDir);
      const acme = tokens.create({ tenant: 'acme', role: 'read' }).token;
      const globex = tokens.create({ tenant: 'globex', role: 'read' }).token;
      await new Promise((r) => setTimeout(r, 1100));
      const [a] = await records(s.url, 'cert-line', 1, { authorization: `Bearer ${acme}` });
      assert.equal(a.message, 'cert-line web', 'SAN DNS name → acme; the tenant inside the message is ignored');
      const [g] = await records(s.url, 'cert-line', 1, { authorization: `Bearer ${globex}` });
      assert.equal(g.message, 'cert-line db', 'subject CN → globex');

      await send(stranger, '<13>cert-line stranger\n');
      await waitFor('the unmapped certificate to be counted', async () => (await metric(s.url, 'log_errors_total', { reason: 'unauthorized' })) === 1);
      await assert.rejects(
        (async () => {
          const sock = await tlsOpen(port, { ca });
          await new Promise((_, j) => sock.once('error', j).once('close', () => j(new Error('closed'))));
        })(),
      );
      await assert.rejects(
        (async () => {
          const sock = await tlsOpen(port, { ca, cert: readFileSync(foreign.cert), key: readFileSync(foreign.key) });
          await new Promise((_, j) => sock.once('error', j).once('close', () => j(new Error('closed'))));
        })(),
      );
      await waitFor('failed handshakes to be counted', async () => (await metric(s.url, 'log_errors_total', { reason: 'tls_handshake' })) === 2);
      assert.equal(await metric(s.url, 'log_processed_total', { source: 'syslog' }), 2, 'nothing from refused clients was stored');
      rmSync(otherDir, { recursive: true, force: true });
    } finally {
      await s.stop();
    }
  });

  test('TLS settings are checked at start-up, naming the key', async () => {
    const port = await freePort();
    await assert.rejects(startTestServer({ sources: { syslog: { tls: `127.0.0.1:${port}` } } }), /sources\.syslog\.tls_cert: the TLS listener needs a certificate[\s\S]*sources\.syslog\.tls_key/);
    await assert.rejects(startTestServer({ sources: { syslog: { tls: `127.0.0.1:${port}`, tls_cert: '/nonexistent.pem', tls_key: certs.serverKey } } }), /sources\.syslog\.tls_cert: cannot read \/nonexistent\.pem/);
    await assert.rejects(startTestServer({ sources: { syslog: { tls: `127.0.0.1:${port}`, tls_cert: certs.caKey, tls_key: certs.serverKey } } }), /sources\.syslog\.tls_cert: the certificate, key or CA is not usable/);
    await assert.rejects(startTestServer({ sources: { syslog: { client_cert_tenants: { a: 'b' } } } }), /sources\.syslog\.client_cert_tenants: client certificates are only verified with sources\.syslog\.tls_ca/);
  });
});
