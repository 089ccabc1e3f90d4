/**
 * Syslog under hostile input: random bytes, truncated and oversized frames,
 * absurd octet counts, a slowloris sender and silent connections, over TCP,
 * TLS and UDP at once, while one well-behaved sender keeps sending. Nothing
 * may crash or hang, broken streams are closed, and the good sender loses
 * nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { freePort, startTestServer, tempDir, type TestServer } from './helpers/server.ts';
import { makeCertificates } from './helpers/certs.ts';
import { metric, octetCounted, records, sendUdp, tcpConnect, waitFor } from './helpers/syslog.ts';

let s: TestServer;
let port: number;
let tlsPort: number;
let certDir: string;

before(async () => {
  port = await freePort();
  tlsPort = await freePort();
  certDir = tempDir('cairn-certs-');
  const certs = makeCertificates(certDir);
  s = await startTestServer({
    sources: {
      syslog: {
        udp: `127.0.0.1:${port}`,
        tcp: `127.0.0.1:${port}`,
        tls: `127.0.0.1:${tlsPort}`,
        tls_cert: certs.serverCert,
        tls_key: certs.serverKey,
        max_message_bytes: '1KiB',
        idle_timeout: '1s',
        batch_linger_ms: 20,
      },
    },
  });
});
after(async () => {
  await s.stop();
  rmSync(certDir, { recursive: true, force: true });
});

let seed = 12345;
function rand(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/** Resolves when the connection is closed; a test that never ends or destroys it knows the server did. */
function closed(sock: Socket): Promise<void> {
  sock.on('error', () => undefined);
  sock.resume();
  return new Promise((r) => sock.once('close', () => r()));
}

test('hostile input on every listener leaves a well-behaved sender untouched', async () => {
  const good = await tcpConnect(port);
  let goodSent = 0;
  const goodTimer = setInterval(() => good.write(`<13>good-sender line ${goodSent++}\n`), 20);
  try {
    await attack();
  } finally {
    clearInterval(goodTimer);
    good.end();
  }
  const sent = goodSent;
  const stored = await records(s.url, 'good-sender', sent);
  assert.equal(stored.length, sent, 'every line of the good sender is stored');
  await records(s.url, 'after-huge-line', 1);
  assert.ok((await metric(s.url, 'log_errors_total', { reason: 'framing_error' })) >= 5, 'broken framing is counted');
  assert.ok((await metric(s.url, 'log_errors_total', { reason: 'line_too_long' })) >= 2, 'oversized frames are counted');
  assert.ok((await metric(s.url, 'log_errors_total', { reason: 'tls_handshake' })) >= 1, 'the failed handshake is counted');
  assert.ok((await metric(s.url, 'log_unparsed_total', { source: 'syslog' })) > 0, 'random lines are kept as unparsed');
  await waitFor('all connections to close', async () => (await metric(s.url, 'source_connections', { source: 'syslog' })) === 0);
  assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
});

/** Every kind of bad input at once; resolves when each attacking connection is closed. */
async function attack(): Promise<void> {
  const attacks: Promise<unknown>[] = [];
  // Random bytes on 30 connections, in random pieces; the sender closes.
  for (let c = 0; c < 30; c++) {
    attacks.push(
      (async () => {
        const sock = await tcpConnect(port);
        const done = closed(sock);
        for (let i = 0; i < 10 && !sock.destroyed; i++) sock.write(randomBytes(Math.floor(rand() * 3000)));
        sock.end();
        await done;
      })(),
    );
  }
  // Broken octet counting: the server closes these itself.
  for (const data of ['99999999999999999999 <13>x', '5 <13>ab<13>no-count', '12 <13>abc\n\n\n\nxyz', '0 <13>zero length']) {
    attacks.push(
      (async () => {
        const sock = await tcpConnect(port);
        sock.write(data);
        await closed(sock); // the server's doing: this side never ends it
      })(),
    );
  }
  // A frame cut short by the sender: counted, nothing stored from it.
  attacks.push(
    (async () => {
      const sock = await tcpConnect(port);
      const done = closed(sock);
      sock.end('100 <13>truncated-frame only part of it');
      await done;
    })(),
  );
  // A huge but well-formed count: skipped without buffering; the silent connection is then closed as idle.
  attacks.push(
    (async () => {
      const sock = await tcpConnect(port);
      const done = closed(sock);
      sock.write('999999999 ');
      for (let i = 0; i < 50; i++) sock.write(randomBytes(65536));
      await done; // closed by the server as idle
    })(),
  );
  // A 5 MB line without a newline, then a good line on the same connection.
  attacks.push(
    (async () => {
      const sock = await tcpConnect(port);
      const done = closed(sock);
      for (let i = 0; i < 80; i++) sock.write(Buffer.alloc(65536, 0x61));
      sock.end('\n<13>after-huge-line survived\n');
      await done;
    })(),
  );
  // Slowloris: one byte at a time, never finishing a line, for 3 s.
  attacks.push(
    (async () => {
      const sock = await tcpConnect(port);
      const done = closed(sock);
      for (let i = 0; i < 30; i++) {
        assert.ok(!sock.destroyed, 'a slow sender is not cut off while it sends');
        sock.write('<');
        await new Promise((r) => setTimeout(r, 100));
      }
      sock.end();
      await done;
    })(),
  );
  // A connection that says nothing is closed after idle_timeout.
  attacks.push(
    (async () => {
      await closed(await tcpConnect(port)); // by the server, after idle_timeout
    })(),
  );
  // Bytes that are not TLS on the TLS port.
  attacks.push(
    (async () => {
      const sock = await tcpConnect(tlsPort);
      const done = closed(sock);
      sock.write(randomBytes(2000));
      await done; // by the server
    })(),
  );
  // UDP: random datagrams, empty ones, and ones far over the limit.
  attacks.push(sendUdp(port, [...Array.from({ length: 200 }, () => randomBytes(Math.floor(rand() * 1500))), Buffer.alloc(0), randomBytes(60_000), octetCounted(['<13>x'])]));
  await Promise.all(attacks);
}
