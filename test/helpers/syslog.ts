/** Talking syslog to a test server over real sockets, and waiting for what it stored. */
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { json } from './server.ts';

/** `LEN SP MSG` (RFC 5425 / RFC 6587 octet counting) for each message. */
export function octetCounted(messages: string[]): Buffer {
  return Buffer.concat(messages.map((m) => Buffer.concat([Buffer.from(`${Buffer.byteLength(m)} `), Buffer.from(m)])));
}

export function tcpConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Opens a connection, writes `data`, ends it, and waits until the server closed it. */
export async function sendTcp(port: number, data: string | Buffer): Promise<void> {
  const s = await tcpConnect(port);
  s.on('error', () => undefined);
  s.resume();
  await new Promise<void>((r) => {
    s.once('close', () => r());
    s.end(data);
  });
}

export function tlsOpen(port: number, options: ConnectionOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => resolve(s));
    s.once('error', reject);
  });
}

export async function sendUdp(port: number, messages: (string | Buffer)[]): Promise<void> {
  const sock = createSocket('udp4');
  for (const m of messages) await new Promise<void>((r, j) => sock.send(m, port, '127.0.0.1', (err) => (err ? j(err) : r())));
  await new Promise<void>((r) => sock.close(() => r()));
}

/** Sum of a Prometheus series on /metrics over every label set that contains `labels`. */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Records matching a search, newest first (up to 1000), waiting until at least `count` are there. */
export async function records(url: string, q: string, count: number, headers: Record<string, string> = {}): Promise<any[]> {
  return waitFor(`${count} records for ${JSON.stringify(q)}`, async () => {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ q, from: '2000-01-01T00:00:00Z', to: 'now+2h', limit: '1000' })}`, { headers });
    const body = await json(res);
    if (res.status !== 200) throw new Error(`query failed: ${res.status} ${JSON.stringify(body)}`);
    return body.records.length >= count ? (body.records as any[]) : undefined;
  });
}
